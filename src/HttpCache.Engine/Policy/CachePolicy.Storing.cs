using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>Whether an origin answer is stored (RFC 9111 §3), until when, and which of its headers.</summary>
public static partial class CachePolicy
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Proxy-Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade", "Trailer",
    };

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
}
