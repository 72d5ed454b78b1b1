using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// What Get-HttpCacheStats' figures mean: Hits, Misses and Health are this session's; the store's cumulative
/// figures (every session and process that used the file) are the Store* properties.
/// </summary>
public sealed class StatsSemanticsTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task ASecondSessionOnTheSameFileCountsItsOwnRequestsAndNamesTheStoresTotals()
    {
        var urls = Urls(2);
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        // The README's quick start, twice: the second run must say 2 hits, not the file's 3.
        var result = await ps.Ok("""
            $first = New-HttpCacheSession -Path $file
            $null = $urls | Invoke-CachedWebRequest -Session $first
            $null = Invoke-CachedWebRequest -Uri $urls[0] -Session $first
            $first.Dispose()
            $second = New-HttpCacheSession -Path $file
            $null = $urls | Invoke-CachedWebRequest -Session $second
            $stats = Get-HttpCacheStats -Session $second
            $stats.Hits; $stats.Misses; $stats.HitRate; $stats.SessionHits
            $stats.StoreHits; $stats.StoreMisses; $stats.StoreHitRate; $stats.StoreWrites
            $stats.Health
            $second.Dispose()
            """, ("urls", urls), ("file", temp.File("cache.db")));

        Assert.Equal([2L, 0L, 1.0, 2L, 3L, 2L, 0.6, 2L, "Insufficient data"], result.BaseOutput);
    }

    [Fact]
    public async Task HealthJudgesTheSessionOnceItHasEnoughRequests()
    {
        var urls = Urls(4);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = $urls | Invoke-CachedWebRequest -Session $s
            (Get-HttpCacheStats -Session $s).Health
            1..4 | ForEach-Object { $null = $urls | Invoke-CachedWebRequest -Session $s }
            $stats = Get-HttpCacheStats -Session $s
            $stats.Hits; $stats.Misses; $stats.Health
            """, ("urls", urls));

        Assert.Equal(["Insufficient data", 16L, 4L, "Healthy"], result.BaseOutput);
    }
}
