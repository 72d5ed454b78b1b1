using System.Runtime.CompilerServices;
using HttpCache.Engine.Diagnostics;

namespace HttpCache.Commands;

/// <summary>
/// The sizes Get-HttpCacheStats saw at its earlier calls, per session (held weakly: a session that is gone
/// takes its history with it), so each call can say how the store grew.
/// </summary>
internal static class GrowthHistory
{
    /// <summary>Samples kept per session: the engine's window, bounded however often stats are read.</summary>
    public const int MaxSamples = CacheHealth.GrowthWindow;

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
