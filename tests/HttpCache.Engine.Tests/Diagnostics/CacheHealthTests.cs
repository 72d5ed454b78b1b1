using System.Globalization;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Tests.Http;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Diagnostics;

/// <summary>The Health verdict and the growth classification: pure functions, table-tested.</summary>
public sealed class CacheHealthTests
{
    public static TheoryData<long, long, long, string> Verdicts => new()
    {
        // hits, misses, stale served → verdict. Hit rate: > 60% healthy, 30-60% investigate, < 30% critical.
        { 0, 0, 0, "Insufficient data" },
        { 0, 10, 0, "Insufficient data" },  // a new session's first misses fill the cache: no verdict yet
        { 5, 14, 0, "Insufficient data" },  // 19 requests: one short of the minimum
        { 0, 20, 0, "Critical" },           // 20: judged
        { 100, 0, 0, "Healthy" },
        { 61, 39, 0, "Healthy" },
        { 60, 40, 0, "Investigate" },       // exactly 60%: not above it
        { 45, 55, 0, "Investigate" },
        { 30, 70, 0, "Investigate" },       // exactly 30%: not below it
        { 29, 71, 0, "Critical" },
        // Stale served over requests: < 5% healthy, 5-15% investigate, > 15% critical.
        { 90, 10, 4, "Healthy" },
        { 90, 10, 5, "Investigate" },       // exactly 5%
        { 90, 10, 15, "Investigate" },      // exactly 15%
        { 90, 10, 16, "Critical" },
        // The worse of the two wins.
        { 50, 50, 1, "Investigate" },
        { 50, 50, 20, "Critical" },
        { 20, 80, 0, "Critical" },
        { 80, 20, 10, "Investigate" },
    };

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void VerdictFollowsTheThresholds(long hits, long misses, long stale, string expected)
    {
        var assessment = CacheHealth.Assess(hits, misses, stale);

        Assert.Equal(expected, assessment.Verdict);
        var requests = hits + misses;
        Assert.Equal(requests == 0 ? 0 : (double)hits / requests, assessment.HitRate, 10);
        Assert.Equal(requests == 0 ? 0 : (double)stale / requests, assessment.StaleRate, 10);
        Assert.False(string.IsNullOrWhiteSpace(assessment.Reason));
    }

    [Fact]
    public void ReasonNamesBothFiguresAndTheirThresholds()
    {
        var reason = CacheHealth.Assess(45, 55, 8).Reason;

        Assert.Contains("Hit rate 45.0% (investigate", reason, StringComparison.Ordinal);
        Assert.Contains("stale served 8.0% of requests (investigate", reason, StringComparison.Ordinal);
        Assert.Contains("60%", reason, StringComparison.Ordinal);
        Assert.Contains("15%", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InsufficientDataSaysHowManyRequestsAreNeeded()
    {
        Assert.Equal("10 requests counted; a verdict needs at least 20.", CacheHealth.Assess(0, 10, 0).Reason);
    }

    public static TheoryData<string, string> Growths => new()
    {
        // Samples "seconds:bytes" at successive calls → classification.
        { "", "Unknown" },
        { "0:1000", "Unknown" },
        { "0:1000 0:2000", "Unknown" },             // no time between the samples: no rate
        { "0:1000 10:1000", "Stable" },
        { "0:1000000 3600:1009000", "Stable" },     // 0.9% of the size in an hour
        { "0:1000000 3600:1011000", "Linear" },     // 1.1%
        { "0:1000 10:900", "Stable" },              // shrinking: eviction at work
        { "0:0 10:0", "Stable" },
        { "0:0 10:500", "Linear" },
        { "0:1000 10:2000", "Linear" },             // growing, no earlier half to compare
        { "0:1000 10:2000 20:3000", "Linear" },     // the same rate
        { "0:1000 10:2000 20:2400", "Linear" },     // slowing down
        { "0:1000 10:2000 20:3600", "Unbounded" },  // 1.6 times as fast
        { "0:1000 10:2000 15:2800", "Unbounded" },  // 160 bytes a second after 100: faster, however short the interval
        { "0:1000 10:1000 20:5000", "Linear" },     // a first growth after a stable interval
        { "0:1000 10:2000 20:3000 30:3000 40:3000", "Linear" }, // judged over the window, not the last interval
    };

    [Theory]
    [MemberData(nameof(Growths))]
    public void GrowthIsClassifiedFromTheSamples(string samples, string expected)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var list = samples.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split(':'))
            .Select(p => (start.AddSeconds(double.Parse(p[0], CultureInfo.InvariantCulture)), long.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();

        Assert.Equal(expected, CacheHealth.ClassifyGrowth(list));
    }

    [Fact]
    public void OnlyTheLastWindowOfSamplesCounts()
    {
        // A fast start long ago, then a steady rate for a whole window: the old burst no longer makes it Unbounded.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var samples = new List<(DateTimeOffset, long)> { (start, 0), (start.AddSeconds(1), 1_000_000) };
        samples.AddRange(Enumerable.Range(1, CacheHealth.GrowthWindow).Select(i => (start.AddSeconds(1 + (i * 100)), 1_000_000 + (i * 500_000L))));

        Assert.Equal("Linear", CacheHealth.ClassifyGrowth(samples));
    }

    [Fact]
    public void AnUnchangedRateOfGrowthKeepsItsVerdictHoweverTheCallsAreSpaced()
    {
        // 1 KB a second onto a 10 MB store, sampled a second apart (1 KB: a tenth of a percent of the size),
        // then an hour apart, and in between: Linear at every call from the second on.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var samples = new List<(DateTimeOffset At, long Bytes)>();
        var seconds = 0L;
        foreach (var interval in new long[] { 1, 1, 3600, 1, 2, 600, 1, 3600, 3600, 5, 1, 1, 90, 1 })
        {
            samples.Add((start.AddSeconds(seconds), 10_000_000 + (seconds * 1024)));
            Assert.Equal(samples.Count == 1 ? "Unknown" : "Linear", CacheHealth.ClassifyGrowth(samples));
            seconds += interval;
        }
    }

    [Fact]
    public void AGrowthThatDoublesItsRateIsUnboundedWhateverTheSpacing()
    {
        // 1 KB a second for an hour, then 4 KB a second, sampled at uneven intervals.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        long SizeAt(long s) => s <= 3600 ? s * 1024 : (3600 * 1024) + ((s - 3600) * 4096);
        var samples = new[] { 0L, 600, 3000, 3600, 3700, 5000, 7200 }.Select(s => (start.AddSeconds(s), SizeAt(s))).ToList();

        Assert.Equal("Unbounded", CacheHealth.ClassifyGrowth(samples));
    }
}

/// <summary>
/// The growth verdict on a real store filled at a steady rate, with the session's injected clock (a
/// FakeTimeProvider) giving the sample instants: the spacing of the calls must not change it.
/// </summary>
public sealed class StoreGrowthTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task SteadyFillingIsLinearAtIrregularlySpacedCallsAndAcceleratingIsUnbounded()
    {
        await using var cache = CacheHarness.Create();
        var samples = new List<(DateTimeOffset At, long Bytes)>();
        var verdicts = new List<string>();

        async Task Sample()
        {
            var statistics = await cache.Session.GetStatisticsAsync();
            samples.Add((cache.Clock.GetUtcNow(), statistics.Inventory.Bytes));
            verdicts.Add(CacheHealth.ClassifyGrowth(samples));
        }

        // Two new entries per simulated minute, whatever the spacing of the stats calls.
        async Task Fill(int minutes, int perMinute)
        {
            for (var minute = 0; minute < minutes; minute++)
            {
                for (var i = 0; i < perMinute; i++)
                {
                    var path = origin.NewPath("growth");
                    origin.Map(path, OriginBehaviors.Counter());
                    (await cache.GetAsync(origin.Url(path))).Response.Dispose();
                }

                cache.Clock.Advance(TimeSpan.FromMinutes(1));
            }
        }

        await Sample();
        foreach (var minutes in new[] { 1, 5, 2, 9, 1, 3 })
        {
            await Fill(minutes, 2);
            await Sample();
        }

        Assert.Equal(["Unknown", "Linear", "Linear", "Linear", "Linear", "Linear", "Linear"], verdicts);

        foreach (var perMinute in new[] { 4, 8, 16 })
        {
            await Fill(3, perMinute);
            await Sample();
        }

        Assert.Equal("Unbounded", verdicts[^1]);
    }
}
