using System.Globalization;

namespace HttpCache.Engine.Diagnostics;

/// <summary>A Health verdict and what it rests on.</summary>
/// <param name="Verdict">Healthy, Investigate, Critical, Insufficient data (fewer requests than <see cref="CacheHealth.MinimumRequests"/>).</param>
/// <param name="HitRate">Hits over hits plus misses, 0 to 1.</param>
/// <param name="StaleRate">Stale answers served over hits plus misses, 0 to 1.</param>
/// <param name="Reason">The figures against their thresholds, in words.</param>
public sealed record HealthAssessment(string Verdict, double HitRate, double StaleRate, string Reason);

/// <summary>
/// Get-HttpCacheStats' judgements, as pure functions of the figures (table-tested): the Health verdict from
/// the thresholds of the usual HTTP-cache monitoring guidance, and the store's size growth over time.
/// </summary>
public static class CacheHealth
{
    public const string Healthy = nameof(Healthy);
    public const string Investigate = nameof(Investigate);
    public const string Critical = nameof(Critical);
    public const string InsufficientData = "Insufficient data";
    public const string Unknown = nameof(Unknown);

    public const string Stable = nameof(Stable);
    public const string Linear = nameof(Linear);
    public const string Unbounded = nameof(Unbounded);

    /// <summary>
    /// Below this many requests (hits plus misses) there is no verdict: a new session's first misses are
    /// how a cache fills, not a sign of a sick one.
    /// </summary>
    public const long MinimumRequests = 20;

    /// <summary>Hit rate above this is healthy.</summary>
    public const double HealthyHitRate = 0.60;

    /// <summary>Hit rate below this is critical; from here to <see cref="HealthyHitRate"/> (both included) needs investigating.</summary>
    public const double CriticalHitRate = 0.30;

    /// <summary>Stale share below this is healthy.</summary>
    public const double HealthyStaleRate = 0.05;

    /// <summary>Stale share above this is critical; from <see cref="HealthyStaleRate"/> to here (both included) needs investigating.</summary>
    public const double CriticalStaleRate = 0.15;

    /// <summary>Samples the growth is judged over (the most recent ones).</summary>
    public const int GrowthWindow = 8;

    /// <summary>Growth of at most this share of the store's size per hour counts as none.</summary>
    public const double StableSharePerHour = 0.01;

    /// <summary>Growth whose later rate is at least this many times the earlier one is accelerating: unbounded.</summary>
    public const double AccelerationFactor = 1.5;

    /// <summary>
    /// The verdict: hit rate above 60% healthy, 30-60% investigate, below 30% critical; stale served below 5%
    /// healthy, 5-15% investigate, above 15% critical; the worse of the two wins. Both rates are over the
    /// requests the cache looked at (hits plus misses); with fewer than <see cref="MinimumRequests"/> of them,
    /// the verdict is Insufficient data.
    /// </summary>
    public static HealthAssessment Assess(long hits, long misses, long staleServed)
    {
        var requests = hits + misses;
        var hitRate = requests <= 0 ? 0 : (double)hits / requests;
        var staleRate = requests <= 0 ? 0 : (double)staleServed / requests;
        if (requests < MinimumRequests)
        {
            return new HealthAssessment(
                InsufficientData,
                hitRate,
                staleRate,
                string.Format(CultureInfo.InvariantCulture, "{0} requests counted; a verdict needs at least {1}.", requests, MinimumRequests));
        }

        var hitVerdict = hitRate > HealthyHitRate ? Healthy : hitRate >= CriticalHitRate ? Investigate : Critical;
        var staleVerdict = staleRate < HealthyStaleRate ? Healthy : staleRate <= CriticalStaleRate ? Investigate : Critical;
        var verdict = Rank(hitVerdict) >= Rank(staleVerdict) ? hitVerdict : staleVerdict;

        var reason = string.Format(
            CultureInfo.InvariantCulture,
            "Hit rate {0:0.0}% ({1}: healthy above 60%, critical below 30%); stale served {2:0.0}% of requests ({3}: healthy below 5%, critical above 15%).",
            hitRate * 100,
            hitVerdict.ToLowerInvariant(),
            staleRate * 100,
            staleVerdict.ToLowerInvariant());
        return new HealthAssessment(verdict, hitRate, staleRate, reason);
    }

    /// <summary>
    /// The store's size growth over the last <see cref="GrowthWindow"/> samples (oldest first), judged on bytes
    /// per unit of time, so how often the samples were taken never changes the verdict of a steady growth:
    /// Unknown until the samples span some time; Stable when the window grew by at most 1% of the store's size
    /// per hour (or shrank); Unbounded when the later half of the window grew at least 1.5 times as fast as the
    /// earlier half, which grew too (accelerating); otherwise Linear.
    /// </summary>
    public static string ClassifyGrowth(IReadOnlyList<(DateTimeOffset At, long Bytes)> samples)
    {
        var window = Window(samples);
        if (window.Count < 2)
        {
            return Unknown;
        }

        var (firstAt, first) = window[0];
        var (lastAt, last) = window[^1];
        var overall = Rate(first, last, firstAt, lastAt);
        if (overall * 3600 <= StableSharePerHour * Math.Max(first, last))
        {
            return Stable;
        }

        if (window.Count >= 3)
        {
            var (middleAt, middle) = window[(window.Count - 1) / 2];
            var earlier = Rate(first, middle, firstAt, middleAt);
            var later = Rate(middle, last, middleAt, lastAt);
            if (earlier > 0 && later >= AccelerationFactor * earlier)
            {
                return Unbounded;
            }
        }

        return Linear;
    }

    /// <summary>The most recent samples, one per instant (the latest of those taken at the same moment).</summary>
    private static List<(DateTimeOffset At, long Bytes)> Window(IReadOnlyList<(DateTimeOffset At, long Bytes)> samples)
    {
        var window = new List<(DateTimeOffset At, long Bytes)>();
        foreach (var sample in samples)
        {
            if (window.Count > 0 && sample.At <= window[^1].At)
            {
                window[^1] = (window[^1].At, sample.Bytes);
                continue;
            }

            window.Add(sample);
        }

        return window.Count > GrowthWindow ? window.GetRange(window.Count - GrowthWindow, GrowthWindow) : window;
    }

    /// <summary>Bytes per second; callers pass samples at distinct instants.</summary>
    private static double Rate(long from, long to, DateTimeOffset fromAt, DateTimeOffset toAt) => (to - from) / (toAt - fromAt).TotalSeconds;

    private static int Rank(string verdict) => verdict switch
    {
        Critical => 2,
        Investigate => 1,
        _ => 0,
    };
}
