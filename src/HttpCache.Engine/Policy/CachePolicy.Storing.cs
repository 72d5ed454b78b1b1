using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>Whether an origin answer is stored (RFC 9111 §3), until when, and which of its headers.</summary>
public static partial class CachePolicy
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Proxy-Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade", "Trailer",
    };

    // §3.1: specific to the proxy the request went through; no cache may store them.
    private static readonly HashSet<string> NeverStored = new(StringComparer.OrdinalIgnoreCase)
    {
        "Proxy-Authenticate", "Proxy-Authentication-Info",
    };

    // Cookies set for the user who asked (Set-Cookie2 is RFC 2965's obsolete form): never replayed to another.
    private static readonly HashSet<string> SharedNeverStored = new(StringComparer.OrdinalIgnoreCase)
    {
        "Set-Cookie", "Set-Cookie2",
    };

    /// <summary>
    /// Whether to store an origin answer, and until when it is fresh. A DoNotCache from the user's rules
    /// (the first of per-request ExpireAfter · per-status lifetime · per-URL pattern · the session's callback
    /// that gives one, else the session's ExpireAfter) excludes the answer outright. Otherwise expiration
    /// precedence, highest first: response Cache-Control/Expires (when honoured) · request Cache-Control
    /// max-age · those user rules · heuristic freshness (opt-in) · the session's ExpireAfter.
    /// </summary>
    public static StoreDecision Store(HttpRequestMessage request, HttpResponseMessage response, CacheSettings settings, CacheRequestOptions options, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var initialAge = InitialAge(response, requestTime, responseTime);
        StoreDecision No(CacheReason reason) => new(false, reason, null, initialAge);

        if (!settings.AllowedMethods.Contains(request.Method.Method))
        {
            return No(CacheReason.NotStorableMethod);
        }

        // §3.4: a 206 the cache can combine (one range, a known length, a strong validator) is a piece of the
        // complete answer, stored by the complete answer's rules; any other 206 is not stored.
        var status = StorablePart(response, responseTime) is not null ? 200 : (int)response.StatusCode;
        var requestControl = CacheDirectives.From(request.Headers);
        var responseControl = ResponseDirectives(response, settings);
        var mustUnderstand = settings.CacheControl && responseControl.MustUnderstand;
        if (mustUnderstand && !UnderstoodStatus(status))
        {
            // §5.2.2.3: "the cache MUST NOT store the response if it does not understand the status code".
            return No(CacheReason.NotStorableStatus);
        }

        if (!settings.AllowedStatusCodes.Contains(status) && !settings.StatusExpireAfter.ContainsKey(status)
            && !(settings.CacheControl && StorableWithExplicitFreshness(status) && ExplicitLifetime(response, settings, responseTime) is not null))
        {
            return No(CacheReason.NotStorableStatus);
        }

        if (requestControl.NoStore && !settings.AlwaysCache)
        {
            return No(CacheReason.NotStorableRequestNoStore);
        }

        // §5.2.2.3: must-understand with a status the cache understands overrides no-store.
        if (responseControl.NoStore && !settings.AlwaysCache && !mustUnderstand)
        {
            return No(CacheReason.NotStorableNoStore);
        }

        if (ResponseVary(response).Contains("*"))
        {
            return No(CacheReason.NotStorableVaryStar);
        }

        if (settings.Shared && !settings.AlwaysCache)
        {
            // §5.2.2.7: a shared cache must not store a private answer.
            if (responseControl.Private)
            {
                return No(CacheReason.NotStorablePrivate);
            }

            // §3.5: nor an answer to an authorized request, unless the answer explicitly allows it.
            if (request.Headers.NonValidated.Contains("Authorization")
                && !(responseControl.Public || responseControl.SharedMaxAge is not null || responseControl.MustRevalidate))
            {
                return No(CacheReason.NotStorableAuthorization);
            }
        }

        if (settings.StorePredicate is { } predicate && !predicate(response))
        {
            return No(CacheReason.NotStorablePredicate);
        }

        // The user's own lifetime rules, most specific first; the session's ExpireAfter comes last, below heuristics.
        var configured = options.ExpireAfter
            ?? (settings.StatusExpireAfter.TryGetValue(status, out var byStatus) ? byStatus : (Expiration?)null)
            ?? UrlExpiration(request.RequestUri!, settings)
            ?? settings.ExpireAfterCallback?.Invoke(response);

        // DoNotCache is an exclusion, not a lifetime: a deny-list entry (or an allow-list's catch-all) must
        // hold whatever the origin's Cache-Control says, so it is decided before the response's freshness.
        if ((configured ?? settings.ExpireAfter).IsDoNotCache)
        {
            return No(CacheReason.NotStorableDoNotCache);
        }

        if (settings.CacheControl)
        {
            if (responseControl.NoCache)
            {
                // §5.2.2.4: store, but validate before every use.
                return new(true, CacheReason.Stored, responseTime, initialAge);
            }

            if (ExplicitLifetime(response, settings, responseTime) is { } lifetime)
            {
                // Fresh while current_age < freshness_lifetime (§4.2).
                return new(true, CacheReason.Stored, responseTime + lifetime - initialAge, initialAge);
            }
        }

        var expiration = requestControl.MaxAge is { } requestMaxAge
            ? Expiration.After(requestMaxAge)
            : configured
              ?? HeuristicExpiration(response, settings, responseTime)
              ?? settings.ExpireAfter;
        return new(true, CacheReason.Stored, expiration.ExpiresAt(responseTime), initialAge);
    }

    /// <summary>
    /// RFC 9110 §9.3.3: "Responses to POST requests are only cacheable when they include explicit freshness
    /// information ... A cached POST response can be reused to satisfy a later GET or HEAD request." and "If
    /// the response ... has a Content-Location header field that has the same value as the POST's target
    /// URI, [it] can be used for a later GET". True when the session stores both POST and GET, honours the
    /// origin's freshness, the answer states a positive one, and its Content-Location is the target.
    /// </summary>
    public static bool PostAnswersGet(HttpRequestMessage request, HttpResponseMessage response, CacheSettings settings, DateTimeOffset responseTime)
    {
        if (request.Method != HttpMethod.Post || !settings.AllowedMethods.Contains("POST") || !settings.AllowedMethods.Contains("GET") || !settings.CacheControl
            || ExplicitLifetime(response, settings, responseTime) is not { } lifetime || lifetime <= TimeSpan.Zero
            || HttpFields.Lines(response, "Content-Location") is not [var location]
            || !Uri.TryCreate(location.Trim(), UriKind.RelativeOrAbsolute, out var relative)
            || !Uri.TryCreate(request.RequestUri, relative, out var absolute))
        {
            return false;
        }

        return Uri.Compare(absolute, request.RequestUri, UriComponents.HttpRequestUrl, UriFormat.SafeUnescaped, StringComparison.Ordinal) == 0;
    }

    /// <summary>
    /// RFC 9111 §3: any final status may be stored when the answer states its freshness, except 206 (stored
    /// only as a part the cache can combine, see <see cref="StorablePart"/>) and 304 (it refers to a stored
    /// answer; it is never one itself).
    /// -AllowedStatusCodes decides only for the session's own lifetimes and heuristics.
    /// </summary>
    private static bool StorableWithExplicitFreshness(int status) => status >= 200 && status is not (206 or 304);

    /// <summary>
    /// The statuses whose caching requirements the engine implements (for must-understand, §5.2.2.3): the
    /// final statuses RFC 9110 defines, less 206 (a part is judged as the 200 it belongs to) and 304.
    /// </summary>
    private static bool UnderstoodStatus(int status) => status is (>= 200 and <= 205) or (>= 300 and <= 303) or 305 or 307 or 308
        or (>= 400 and <= 417) or 421 or 422 or 426 or (>= 500 and <= 505);

    /// <summary>
    /// The fields an answer is stored without, though the caller who asked gets them: those a qualified
    /// no-cache names (§5.2.2.4: "the cache MUST NOT use the named fields in a response to a later request
    /// without successful revalidation", so they are not kept and the rest is reused as any answer), and in
    /// a shared session those a qualified private names (§5.2.2.7: "a shared cache MUST NOT store the
    /// specified field names"). The one list every rule of the kind adds to. Whatever the directives: the
    /// proxy's own authentication fields (§3.1: they "MUST NOT be stored"), and in a shared session the cookies
    /// an answer sets, which belong to the one user who asked — as if the origin had sent
    /// <c>no-cache="Set-Cookie"</c>.
    /// </summary>
    public static HashSet<string> FieldsOmittedFromStore(HttpResponseMessage response, CacheSettings? settings = null)
    {
        settings ??= CacheSettings.Default;
        var omitted = new HashSet<string>(NeverStored, StringComparer.OrdinalIgnoreCase);
        if (settings.Shared)
        {
            omitted.UnionWith(SharedNeverStored);
        }

        if (!settings.CacheControl)
        {
            return omitted;
        }

        var control = ResponseDirectives(response, settings);
        omitted.UnionWith(control.NoCacheFields);
        if (settings.Shared)
        {
            omitted.UnionWith(control.PrivateFields);
        }

        return omitted;
    }

    /// <summary>
    /// The headers to store: hop-by-hop fields, those the Connection header names (§3.1), Age (the cache
    /// computes its own) and <see cref="FieldsOmittedFromStore"/> are left out.
    /// </summary>
    public static List<KeyValuePair<string, string[]>> StorableHeaders(HttpResponseMessage response, CacheSettings? settings = null)
    {
        var omitted = FieldsOmittedFromStore(response, settings);
        // Read without validation or parsing: every miss that is stored runs this.
        HashSet<string>? connectionNamed = null;
        if (response.Headers.NonValidated.TryGetValues("Connection", out var connection))
        {
            connectionNamed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var value in connection)
            {
                foreach (var token in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    connectionNamed.Add(token);
                }
            }
        }

        var result = new List<KeyValuePair<string, string[]>>();
        Add(result, response.Headers.NonValidated, connectionNamed, omitted);
        if (response.Content is not null)
        {
            Add(result, response.Content.Headers.NonValidated, connectionNamed, omitted);
        }

        return result;

        static void Add(List<KeyValuePair<string, string[]>> result, HttpHeadersNonValidated headers, HashSet<string>? connectionNamed, HashSet<string> omitted)
        {
            foreach (var (name, values) in headers)
            {
                if (HopByHop.Contains(name) || connectionNamed?.Contains(name) == true || string.Equals(name, "Age", StringComparison.OrdinalIgnoreCase)
                    || omitted.Contains(name))
                {
                    continue;
                }

                var copy = new string[values.Count];
                var i = 0;
                foreach (var value in values)
                {
                    copy[i++] = value;
                }

                result.Add(new(name, copy));
            }
        }
    }
}
