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
    /// its Age header plus the round trip imply. Both fields are read strictly (<see cref="HttpFields"/>):
    /// this is the one reading of Age, for a stored answer and for a 304 that renews one.
    /// </summary>
    public static TimeSpan InitialAge(HttpResponseMessage response, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var date = HttpFields.Date(HttpFields.Lines(response, "Date"), responseTime);
        var apparentAge = date is { } d && responseTime > d ? responseTime - d : TimeSpan.Zero;
        var responseDelay = responseTime > requestTime ? responseTime - requestTime : TimeSpan.Zero;
        var correctedAgeValue = (HttpFields.Age(response) ?? TimeSpan.Zero) + responseDelay;
        return apparentAge > correctedAgeValue ? apparentAge : correctedAgeValue;
    }

    /// <summary>
    /// The directives that govern an origin answer in this session: in a shared session, the targeted field
    /// (RFC 9213, <see cref="CacheSettings.TargetedCacheControl"/>) when present and valid; else Cache-Control.
    /// </summary>
    public static CacheDirectives ResponseDirectives(HttpResponseMessage response, CacheSettings settings) => ResponseDirectives(response, settings, out _);

    private static CacheDirectives ResponseDirectives(HttpResponseMessage response, CacheSettings settings, out bool targeted)
    {
        if (settings.Shared && settings.TargetedCacheControl is { Length: > 0 } name
            && TargetedCacheControl.Parse(HttpFields.Lines(response, name)) is { } directives)
        {
            targeted = true;
            return directives;
        }

        targeted = false;
        return CacheDirectives.From(response.Headers);
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
            || HttpFields.Date(HttpFields.Lines(response, "Last-Modified"), responseTime) is not { } lastModified)
        {
            return null;
        }

        var since = (HttpFields.Date(HttpFields.Lines(response, "Date"), responseTime) ?? responseTime) - lastModified;
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
    /// Expires minus Date. An Expires that is not one valid HTTP-date (§5.3: another format, or more than
    /// one line) means already stale. Null when the answer states none.
    /// </summary>
    public static TimeSpan? ExplicitLifetime(HttpResponseMessage response, CacheSettings settings, DateTimeOffset responseTime)
    {
        var control = ResponseDirectives(response, settings, out var targeted);
        if (settings.Shared && control.SharedMaxAge is { } shared)
        {
            return shared;
        }

        if (control.MaxAge is { } maxAge)
        {
            return maxAge;
        }

        // RFC 9213 §2.1: a valid targeted field means Expires is ignored too.
        var expiresLines = HttpFields.Lines(response, "Expires");
        if (expiresLines is null || targeted)
        {
            return null;
        }

        if (HttpFields.Date(expiresLines, responseTime) is not { } expires)
        {
            return TimeSpan.Zero;
        }

        var lifetime = expires - (HttpFields.Date(HttpFields.Lines(response, "Date"), responseTime) ?? responseTime);
        return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
    }
}
