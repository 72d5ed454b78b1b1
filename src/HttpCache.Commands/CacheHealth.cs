using System.Globalization;
using System.Runtime.CompilerServices;

namespace HttpCache.Commands;

/// <summary>A Health verdict and what it rests on.</summary>
/// <param name="Verdict">Healthy, Investigate, Critical, or Unknown (no requests counted yet).</param>
/// <param name="HitRate">Hits over hits plus misses, 0 to 1.</param>
/// <param name="StaleRate">Stale answers served over hits plus misses, 0 to 1.</param>
/// <param name="Reason">The figures against their thresholds, in words.</param>
internal sealed record HealthAssessment(string Verdict, double HitRate, double StaleRate, string Reason);

/// <summary>
/// Get-HttpCacheStats' judgements, as pure functions of the figures (table-tested): the Health verdict from
/// the thresholds of the usual HTTP-cache monitoring guidance, and the size growth between calls.
/// </summary>
internal static class CacheHealth
{
    public const string Healthy = nameof(Healthy);
    public const string Investigate = nameof(Investigate);
    public const string Critical = nameof(Critical);
    public const string Unknown = nameof(Unknown);

    public const string Stable = nameof(Stable);
    public const string Linear = nameof(Linear);
    public const string Unbounded = nameof(Unbounded);

    /// <summary>Hit rate above this is healthy.</summary>
    public const double HealthyHitRate = 0.60;

    /// <summary>Hit rate below this is critical; from here to <see cref="HealthyHitRate"/> (both included) needs investigating.</summary>
    public const double CriticalHitRate = 0.30;

    /// <summary>Stale share below this is healthy.</summary>
    public const double HealthyStaleRate = 0.05;

    /// <summary>Stale share above this is critical; from <see cref="HealthyStaleRate"/> to here (both included) needs investigating.</summary>
    public const double CriticalStaleRate = 0.15;

    /// <summary>A size change within this share of the previous size counts as no change.</summary>
    public const double StableTolerance = 0.01;

    /// <summary>Growth whose rate is at least this many times the previous interval's is accelerating: unbounded.</summary>
    public const double AccelerationFactor = 1.5;

    /// <summary>
    /// The verdict: hit rate above 60% healthy, 30-60% investigate, below 30% critical; stale served below 5%
    /// healthy, 5-15% investigate, above 15% critical; the worse of the two wins. Both rates are over the
    /// requests the cache looked at (hits plus misses); with none, the verdict is Unknown.
    /// </summary>
    public static HealthAssessment Assess(long hits, long misses, long staleServed)
    {
        var requests = hits + misses;
        if (requests <= 0)
        {
            return new HealthAssessment(Unknown, 0, 0, "No requests counted yet.");
        }

        var hitRate = (double)hits / requests;
        var staleRate = (double)staleServed / requests;
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
    /// The store's size growth over the samples taken at successive calls, oldest first: Unknown with fewer than
    /// two; Stable when the last interval changed the size by at most 1% (or shrank it); Unbounded when it grew
    /// in each of the last two intervals and the last one's rate (bytes per second) is at least 1.5 times the one
    /// before (accelerating); otherwise Linear.
    /// </summary>
    public static string ClassifyGrowth(IReadOnlyList<(DateTimeOffset At, long Bytes)> samples)
    {
        if (samples.Count < 2)
        {
            return Unknown;
        }

        var (lastAt, last) = samples[^1];
        var (previousAt, previous) = samples[^2];
        if (!Grew(previous, last))
        {
            return Stable;
        }

        if (samples.Count >= 3)
        {
            var (earlierAt, earlier) = samples[^3];
            if (Grew(earlier, previous)
                && Rate(previous, last, previousAt, lastAt) >= AccelerationFactor * Rate(earlier, previous, earlierAt, previousAt))
            {
                return Unbounded;
            }
        }

        return Linear;
    }

    private static bool Grew(long from, long to) => to - from > from * StableTolerance;

    /// <summary>Bytes per second; an interval without a measurable duration counts as one second.</summary>
    private static double Rate(long from, long to, DateTimeOffset fromAt, DateTimeOffset toAt)
    {
        var seconds = (toAt - fromAt).TotalSeconds;
        return (to - from) / (seconds > 0 ? seconds : 1);
    }

    private static int Rank(string verdict) => verdict switch
    {
        Critical => 2,
        Investigate => 1,
        _ => 0,
    };
}

/// <summary>
/// The sizes Get-HttpCacheStats saw at its earlier calls, per session (held weakly: a session that is gone
/// takes its history with it), so each call can say how the store grew since.
/// </summary>
internal static class GrowthHistory
{
    /// <summary>Samples kept per session: enough for the classification, bounded however often stats are read.</summary>
    public const int MaxSamples = 16;

    private static readonly ConditionalWeakTable<CacheSession, List<(DateTimeOffset At, long Bytes)>> Samples = new();

    /// <summary>Adds a sample and returns the growth class with the byte change since the previous call (null on the first).</summary>
    public static (string Growth, long? Change) Record(CacheSession session, DateTimeOffset at, long bytes)
    {
        var samples = Samples.GetValue(session, _ => []);
        lock (samples)
        {
            long? change = samples.Count > 0 ? bytes - samples[^1].Bytes : null;
            samples.Add((at, bytes));
            if (samples.Count > MaxSamples)
            {
                samples.RemoveAt(0);
            }

            return (CacheHealth.ClassifyGrowth(samples), change);
        }
    }
}
