namespace HttpCache.Engine.Policy;

/// <summary>Age and freshness lifetime (RFC 9111 §4.2): what the answer states, the heuristics, and the session's rules.</summary>
public static partial class CachePolicy
{
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
}
