using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>What to do with a request, given what is stored.</summary>
public enum LookupAction
{
    /// <summary>Answer with the stored response.</summary>
    Serve,
    /// <summary>Answer with the stale stored response at once and refresh it in the background.</summary>
    ServeAndRefresh,
    /// <summary>Send a conditional request with the stored validators.</summary>
    Revalidate,
    /// <summary>Send the request as it is.</summary>
    Fetch,
    /// <summary>Answer 504 Not Cached without contacting the origin.</summary>
    NotCached,
}

/// <summary>The outcome of a lookup.</summary>
public readonly record struct LookupDecision(LookupAction Action, CacheReason Reason, bool IsExpired, TimeSpan Age);

/// <summary>The outcome of the store checks on an origin answer.</summary>
public readonly record struct StoreDecision(bool Store, CacheReason Reason, DateTimeOffset? ExpiresAt, TimeSpan InitialAge);

/// <summary>
/// The caching rules: pure functions of the request, the stored answer, the settings and the time.
/// No I/O, no clock of its own. RFC 9111 section numbers mark the rules they implement.
/// </summary>
public static class CachePolicy
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Proxy-Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade", "Trailer",
    };

    /// <summary>
    /// Whether the cache looks at this request at all. Null when it does; otherwise the reason it stays out.
    /// </summary>
    public static CacheReason? Bypass(HttpRequestMessage request, CacheSettings settings)
    {
        if (!settings.AllowedMethods.Contains(request.Method.Method))
        {
            return CacheReason.BypassMethod;
        }

        if (CacheDirectives.From(request.Headers).NoStore)
        {
            return CacheReason.BypassRequestNoStore;
        }

        var headers = request.Headers;
        if (headers.IfNoneMatch.Count > 0 || headers.IfModifiedSince is not null
            || headers.Contains("If-Match") || headers.Contains("If-Unmodified-Since") || headers.Contains("If-Range"))
        {
            return CacheReason.BypassConditionalRequest;
        }

        return null;
    }

    /// <summary>
    /// The variant whose stored request-header pairs match this request, or null: the headers its Vary
    /// names (RFC 9111 §4.1), the session's match headers, and the credentials it was stored for — a
    /// request with credentials never matches an answer stored for other credentials or for none.
    /// </summary>
    public static StoredResponse? SelectVariant(IReadOnlyList<StoredResponse> variants, HttpRequestMessage request, CacheSettings? settings = null)
    {
        settings ??= CacheSettings.Default;
        StoredResponse? best = null;
        foreach (var variant in variants)
        {
            var vary = variant.GetJoinedHeader("Vary");
            if (vary is not null && VaryNames(vary).Contains("*"))
            {
                continue;
            }

            var matches = true;
            foreach (var (name, value) in variant.VaryValues)
            {
                if (!string.Equals(KeyedValue(request, name, settings), value, StringComparison.Ordinal))
                {
                    matches = false;
                    break;
                }
            }

            foreach (var credential in CredentialsInForce(settings))
            {
                if (matches && !variant.VaryValues.Any(v => string.Equals(v.Key, credential, StringComparison.OrdinalIgnoreCase))
                    && KeyedValue(request, credential, settings).Length != 0)
                {
                    matches = false;
                }
            }

            // §4: with several matches, the most recent one is used.
            if (matches && (best is null || variant.ResponseTime > best.ResponseTime))
            {
                best = variant;
            }
        }

        return best;
    }

    /// <summary>
    /// The credential headers keyed by digest: all of them unless an explicit ignore list names them, and the
    /// caller identity (<see cref="CacheRequestOptions.CallerName"/>) always.
    /// </summary>
    public static IEnumerable<string> CredentialsInForce(CacheSettings settings) =>
        (settings.IgnoredParameters is null
            ? CacheSettings.CredentialHeaders
            : CacheSettings.CredentialHeaders.Where(h => !settings.IgnoredParameters.Contains(h)))
        .Append(CacheRequestOptions.CallerName);

    /// <summary>The pseudo-header under which all request headers are matched at once (-MatchHeaders $true).</summary>
    public const string AllHeadersName = "*headers";

    /// <summary>
    /// A request header's value as keys and variants see it: secrets (ignored names and credentials) as a
    /// digest, never in clear; <see cref="AllHeadersName"/> as a digest of every non-ignored header.
    /// </summary>
    public static string KeyedValue(HttpRequestMessage request, string name, CacheSettings settings)
    {
        if (name == AllHeadersName)
        {
            var all = request.Headers.NonValidated
                .Where(h => !settings.EffectiveIgnoredParameters.Contains(h.Key) && !CacheSettings.CredentialHeaders.Contains(h.Key, StringComparer.OrdinalIgnoreCase))
                .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
                .Select(h => h.Key.ToLowerInvariant() + ":" + string.Join(", ", h.Value));
            return Digest(string.Join("\n", all));
        }

        var value = RequestHeaderValue(request, name);
        var secret = settings.EffectiveIgnoredParameters.Contains(name) || CacheSettings.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase)
            || name == CacheRequestOptions.CallerName;
        return secret && value.Length != 0 ? Digest(value) : value;
    }

    private static string Digest(string value) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value)), 0, 8).ToLowerInvariant();

    /// <summary>The header names a Vary value lists, trimmed.</summary>
    public static IReadOnlyList<string> VaryNames(string vary) =>
        vary.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// A request header's value as Vary compares it: every value joined with ", ", whitespace around
    /// them folded (RFC 9111 §4.1 allows normalising); an absent header is the empty string.
    /// </summary>
    public static string RequestHeaderValue(HttpRequestMessage request, string name)
    {
        if (name == CacheRequestOptions.CallerName)
        {
            // Not a header: who the handler-level credentials and certificates make the caller.
            return request.Options.TryGetValue(CacheRequestOptions.CallerKey, out var caller) ? caller : string.Empty;
        }

        IEnumerable<string>? values = null;
        if (!request.Headers.TryGetValues(name, out values) && request.Content is not null)
        {
            request.Content.Headers.TryGetValues(name, out values);
        }

        return values is null ? string.Empty : string.Join(", ", values.Select(v => v.Trim()));
    }

    /// <summary>The stored answer's current_age at <paramref name="now"/> (RFC 9111 §4.2.3).</summary>
    public static TimeSpan CurrentAge(StoredResponse stored, DateTimeOffset now)
    {
        var resident = now - stored.ResponseTime;
        return stored.InitialAge + (resident > TimeSpan.Zero ? resident : TimeSpan.Zero);
    }

    /// <summary>
    /// corrected_initial_age of an answer (RFC 9111 §4.2.3): the larger of what its Date implies and what
    /// its Age header plus the round trip imply.
    /// </summary>
    public static TimeSpan InitialAge(HttpResponseMessage response, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var date = response.Headers.Date;
        var apparentAge = date is { } d && responseTime > d ? responseTime - d : TimeSpan.Zero;
        var responseDelay = responseTime > requestTime ? responseTime - requestTime : TimeSpan.Zero;
        var correctedAgeValue = (response.Headers.Age ?? TimeSpan.Zero) + responseDelay;
        return apparentAge > correctedAgeValue ? apparentAge : correctedAgeValue;
    }

    /// <summary>Decides how to answer a request given the matching stored variant, if any.</summary>
    public static LookupDecision Lookup(HttpRequestMessage request, StoredResponse? stored, CacheSettings settings, CacheRequestOptions options, DateTimeOffset now)
    {
        var requestControl = CacheDirectives.From(request.Headers);
        var onlyIfCached = options.Mode == CacheMode.OnlyIfCached || requestControl.OnlyIfCached;
        if (options.Mode == CacheMode.ForceRefresh)
        {
            return new(LookupAction.Fetch, CacheReason.RefreshForced, false, TimeSpan.Zero);
        }

        if (stored is null)
        {
            return onlyIfCached
                ? new(LookupAction.NotCached, CacheReason.OnlyIfCachedMiss, false, TimeSpan.Zero)
                : new(LookupAction.Fetch, CacheReason.MissNoEntry, false, TimeSpan.Zero);
        }

        var age = CurrentAge(stored, now);
        var expiresAt = stored.Record.ExpiresAt;
        var expired = expiresAt is { } e && now >= e;
        var control = stored.CacheControl;

        CacheReason? mustValidate = null;
        if (options.Mode == CacheMode.Refresh)
        {
            mustValidate = CacheReason.RefreshRequested;
        }
        else if (requestControl.NoCache || (!request.Headers.Contains("Cache-Control") && PragmaNoCache(request)))
        {
            // §5.2.1.4, and §5.4: Pragma: no-cache counts only when there is no Cache-Control.
            mustValidate = CacheReason.RequestNoCache;
        }
        else if (requestControl.MaxAge is { } maxAge && age > maxAge)
        {
            mustValidate = CacheReason.RequestMaxAge;
        }
        else if (requestControl.MinFresh is { } minFresh && expiresAt is { } until && until - now < minFresh)
        {
            mustValidate = CacheReason.RequestMinFresh;
        }
        else if (expired)
        {
            if (requestControl.MaxStale && StaleAllowed(stored, settings)
                && (requestControl.MaxStaleLimit is not { } limit || now - expiresAt!.Value <= limit))
            {
                return new(LookupAction.Serve, CacheReason.StaleHitMaxStale, true, age);
            }

            mustValidate = stored.HasValidator ? CacheReason.StaleRevalidating : CacheReason.MissExpired;
        }
        else if (settings.AlwaysRevalidate && !control.Immutable)
        {
            // RFC 8246: a fresh immutable answer is not revalidated unless the user asks explicitly.
            mustValidate = CacheReason.AlwaysRevalidate;
        }

        if (mustValidate is not { } reason)
        {
            return new(LookupAction.Serve, CacheReason.FreshHit, false, age);
        }

        if (onlyIfCached)
        {
            return expired && (StaleWhileRevalidateAllowed(stored, request, settings, now) || StaleIfErrorAllowed(stored, request, settings, now))
                ? new(LookupAction.Serve, CacheReason.StaleHitOnlyIfCached, true, age)
                : new(LookupAction.NotCached, CacheReason.OnlyIfCachedStale, expired, age);
        }

        if (expired && reason is CacheReason.StaleRevalidating or CacheReason.MissExpired && StaleWhileRevalidateAllowed(stored, request, settings, now))
        {
            return new(LookupAction.ServeAndRefresh, CacheReason.StaleWhileRevalidate, true, age);
        }

        return stored.HasValidator
            ? new(LookupAction.Revalidate, reason, expired, age)
            : new(LookupAction.Fetch, reason, expired, age);
    }

    /// <summary>
    /// Whether a stale answer may stand in for a failed or erroring origin (RFC 5861 §4): expired no
    /// longer ago than the larger of the session's window and the answer's (or request's)
    /// stale-if-error, and never past must-revalidate / no-cache (RFC 9111 §4.2.4). A fresh answer
    /// always may.
    /// </summary>
    public static bool StaleIfErrorAllowed(StoredResponse stored, HttpRequestMessage request, CacheSettings settings, DateTimeOffset now) =>
        StaleWindowAllows(stored, settings, now, settings.StaleIfError, stored.CacheControl.StaleIfError, CacheDirectives.From(request.Headers).StaleIfError);

    /// <summary>Whether an expired answer may be served while it is refreshed in the background (RFC 5861 §3).</summary>
    public static bool StaleWhileRevalidateAllowed(StoredResponse stored, HttpRequestMessage request, CacheSettings settings, DateTimeOffset now) =>
        StaleWindowAllows(stored, settings, now, settings.StaleWhileRevalidate, stored.CacheControl.StaleWhileRevalidate, null);

    private static bool StaleWindowAllows(StoredResponse stored, CacheSettings settings, DateTimeOffset now, TimeSpan? sessionWindow, TimeSpan? responseWindow, TimeSpan? requestWindow)
    {
        // Without a window from the session, the answer or the request, errors are the caller's to see.
        if (Max(Max(sessionWindow, responseWindow), requestWindow) is not { } window)
        {
            return false;
        }

        if (stored.Record.ExpiresAt is not { } expiresAt || now < expiresAt)
        {
            return true;
        }

        return StaleAllowed(stored, settings) && (window == TimeSpan.MaxValue || now - expiresAt <= window);
    }

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>§4.2.4: must-revalidate (and proxy-revalidate in a shared cache) and no-cache forbid serving stale.</summary>
    private static bool StaleAllowed(StoredResponse stored, CacheSettings settings)
    {
        var control = stored.CacheControl;
        return !(control.MustRevalidate || control.NoCache || (settings.Shared && control.ProxyRevalidate));
    }

    private static bool PragmaNoCache(HttpRequestMessage request) =>
        request.Headers.Pragma.Any(p => string.Equals(p.Name, "no-cache", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Whether to store an origin answer, and until when it is fresh. Expiration precedence, highest
    /// first: response Cache-Control/Expires (when honoured) · request Cache-Control max-age ·
    /// per-request ExpireAfter · per-status lifetime · per-URL pattern (first match) · the session's
    /// callback · heuristic freshness (opt-in) · the session's ExpireAfter.
    /// </summary>
    public static StoreDecision Store(HttpRequestMessage request, HttpResponseMessage response, CacheSettings settings, CacheRequestOptions options, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var initialAge = InitialAge(response, requestTime, responseTime);
        StoreDecision No(CacheReason reason) => new(false, reason, null, initialAge);

        if (!settings.AllowedMethods.Contains(request.Method.Method))
        {
            return No(CacheReason.NotStorableMethod);
        }

        var status = (int)response.StatusCode;
        if (!settings.AllowedStatusCodes.Contains(status) && !settings.StatusExpireAfter.ContainsKey(status))
        {
            return No(CacheReason.NotStorableStatus);
        }

        var requestControl = CacheDirectives.From(request.Headers);
        var responseControl = CacheDirectives.From(response.Headers);
        if (requestControl.NoStore && !settings.AlwaysCache)
        {
            return No(CacheReason.NotStorableRequestNoStore);
        }

        if (responseControl.NoStore && !settings.AlwaysCache)
        {
            return No(CacheReason.NotStorableNoStore);
        }

        if (response.Headers.Vary.Contains("*"))
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
            if (request.Headers.Authorization is not null
                && !(responseControl.Public || responseControl.SharedMaxAge is not null || responseControl.MustRevalidate))
            {
                return No(CacheReason.NotStorableAuthorization);
            }
        }

        if (settings.StorePredicate is { } predicate && !predicate(response))
        {
            return No(CacheReason.NotStorablePredicate);
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
            : options.ExpireAfter
              ?? (settings.StatusExpireAfter.TryGetValue(status, out var byStatus) ? byStatus : (Expiration?)null)
              ?? UrlExpiration(request.RequestUri!, settings)
              ?? settings.ExpireAfterCallback?.Invoke(response)
              ?? HeuristicExpiration(response, settings, responseTime)
              ?? settings.ExpireAfter;
        return expiration.IsDoNotCache
            ? No(CacheReason.NotStorableDoNotCache)
            : new(true, CacheReason.Stored, expiration.ExpiresAt(responseTime), initialAge);
    }

    /// <summary>The first per-URL rule that matches, or null.</summary>
    public static Expiration? UrlExpiration(Uri url, CacheSettings settings)
    {
        foreach (var rule in settings.UrlExpireAfter)
        {
            if (rule.Pattern.IsMatch(url))
            {
                return rule.Expiration;
            }
        }

        return null;
    }

    /// <summary>
    /// §4.2.2, opt-in: 10% of the time since Last-Modified, at most a week, for statuses that are
    /// heuristically cacheable by default (RFC 9110 §15.1).
    /// </summary>
    public static Expiration? HeuristicExpiration(HttpResponseMessage response, CacheSettings settings, DateTimeOffset responseTime)
    {
        if (!settings.HeuristicFreshness || !HeuristicallyCacheable.Contains((int)response.StatusCode)
            || response.Content?.Headers.LastModified is not { } lastModified)
        {
            return null;
        }

        var since = (response.Headers.Date ?? responseTime) - lastModified;
        if (since <= TimeSpan.Zero)
        {
            return null;
        }

        var lifetime = TimeSpan.FromTicks(since.Ticks / 10);
        return Expiration.After(lifetime > HeuristicCap ? HeuristicCap : lifetime);
    }

    private static readonly TimeSpan HeuristicCap = TimeSpan.FromDays(7);
    private static readonly HashSet<int> HeuristicallyCacheable = [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501];

    /// <summary>
    /// The freshness lifetime the answer states (§4.2.1): s-maxage in a shared cache, else max-age, else
    /// Expires minus Date. An Expires that cannot be parsed means already stale (§5.3). Null when the
    /// answer states none.
    /// </summary>
    public static TimeSpan? ExplicitLifetime(HttpResponseMessage response, CacheSettings settings, DateTimeOffset responseTime)
    {
        var control = CacheDirectives.From(response.Headers);
        if (settings.Shared && control.SharedMaxAge is { } shared)
        {
            return shared;
        }

        if (control.MaxAge is { } maxAge)
        {
            return maxAge;
        }

        var contentHeaders = response.Content?.Headers;
        if (contentHeaders is null || !contentHeaders.Contains("Expires"))
        {
            return null;
        }

        if (contentHeaders.Expires is not { } expires)
        {
            return TimeSpan.Zero;
        }

        var lifetime = expires - (response.Headers.Date ?? responseTime);
        return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
    }

    /// <summary>
    /// The headers to store: hop-by-hop fields, those the Connection header names (§3.1) and Age (the
    /// cache computes its own) are left out.
    /// </summary>
    public static List<KeyValuePair<string, string[]>> StorableHeaders(HttpResponseMessage response)
    {
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
        Add(result, response.Headers.NonValidated, connectionNamed);
        if (response.Content is not null)
        {
            Add(result, response.Content.Headers.NonValidated, connectionNamed);
        }

        return result;

        static void Add(List<KeyValuePair<string, string[]>> result, HttpHeadersNonValidated headers, HashSet<string>? connectionNamed)
        {
            foreach (var (name, values) in headers)
            {
                if (HopByHop.Contains(name) || connectionNamed?.Contains(name) == true || string.Equals(name, "Age", StringComparison.OrdinalIgnoreCase))
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

    /// <summary>
    /// The stored headers updated from a 304 (§3.2, §4.3.4): each field the 304 carries replaces the
    /// stored one, except hop-by-hop fields, Age and Content-Length.
    /// </summary>
    public static List<KeyValuePair<string, string[]>> MergeNotModified(IReadOnlyList<KeyValuePair<string, string[]>> stored, HttpResponseMessage notModified)
    {
        var fresh = StorableHeaders(notModified)
            .Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var replaced = new HashSet<string>(fresh.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);
        var merged = stored.Where(h => !replaced.Contains(h.Key)).ToList();
        merged.AddRange(fresh);
        return merged;
    }

    /// <summary>
    /// The request-header pairs to store with an answer: the names its Vary lists, the session's match
    /// headers, and the credentials the request carried (as digests).
    /// </summary>
    public static List<KeyValuePair<string, string>> VaryValues(HttpRequestMessage request, HttpResponseMessage response, CacheSettings? settings = null)
    {
        settings ??= CacheSettings.Default;
        var result = new List<KeyValuePair<string, string>>();
        void Add(string name)
        {
            if (!result.Exists(v => string.Equals(v.Key, name, StringComparison.OrdinalIgnoreCase)))
            {
                result.Add(new(name, KeyedValue(request, name, settings)));
            }
        }

        foreach (var name in response.Headers.Vary)
        {
            Add(name);
        }

        foreach (var name in settings.MatchHeaders ?? [])
        {
            Add(name);
        }

        if (settings.MatchAllHeaders)
        {
            Add(AllHeadersName);
        }

        foreach (var credential in CredentialsInForce(settings))
        {
            if (RequestHeaderValue(request, credential).Length != 0)
            {
                Add(credential);
            }
        }

        return result;
    }

    /// <summary>The conditional headers that revalidate a stored answer (§4.3.1).</summary>
    public static void AddValidators(HttpRequestMessage request, StoredResponse stored)
    {
        if (stored.ETag is { } etag && EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfNoneMatch.Add(tag);
        }

        if (stored.LastModified is { } lastModified)
        {
            // Echoed as the origin wrote it: the origin compares its own date format best.
            request.Headers.TryAddWithoutValidation("If-Modified-Since", lastModified);
        }
    }
}
