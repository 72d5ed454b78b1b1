using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Get-HttpCacheStats -GroupBy Host over SQLite reads the store's per-host figures (schema 6) instead of listing every
/// entry: through the cmdlets, after hits, a removal and an expiry reset, each row must be what grouping
/// Get-HttpCacheEntry's own output gives.
/// </summary>
public sealed class GroupByHostSqliteTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task Every_field_equals_what_the_listed_entries_give_after_hits_removal_and_an_expiry_reset()
    {
        var loopback = Urls(4, "Grouped");
        var local = Urls(2, "Local").Select(u => u.Replace("127.0.0.1", "localhost", StringComparison.Ordinal)).ToArray();
        using var ps = PS.Open();
        var path = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"), "cache.sqlite");
        var result = await ps.Ok("""
            $q = New-HttpCacheSession -Backend Sqlite -Path $path
            $all | Invoke-CachedWebRequest -Session $q | ForEach-Object { $null = $_ }
            1..3 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $loopback[0] -Session $q }
            $null = Invoke-CachedWebRequest -Uri $local[1] -Session $q
            Remove-HttpCacheEntry -Session $q -Uri $loopback[1] -Confirm:$false
            Get-HttpCacheEntry -Session $q -Uri $loopback[2] | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately

            $expected = Get-HttpCacheEntry -Session $q | Group-Object { ([uri]$_.Uri).Authority.ToLowerInvariant() } | Sort-Object Name | ForEach-Object {
                $e = $_.Group
                '{0} {1} {2} {3} {4} {5:o} {6:o} {7:o}' -f $_.Name, $e.Count, ($e | Measure-Object Size -Sum).Sum,
                    ($e | Measure-Object HitCount -Sum).Sum, @($e | Where-Object IsExpired).Count,
                    ($e.CreatedAt | Sort-Object | Select-Object -First 1), ($e.CreatedAt | Sort-Object | Select-Object -Last 1),
                    ($e.LastAccessedAt | Where-Object { $_ } | Sort-Object | Select-Object -Last 1)
            }
            $actual = Get-HttpCacheStats -Session $q -GroupBy Host | ForEach-Object {
                '{0} {1} {2} {3} {4} {5:o} {6:o} {7:o}' -f $_.Host, $_.Entries, $_.StoredBytes, $_.Hits, $_.ExpiredEntries,
                    $_.OldestEntry, $_.NewestEntry, $_.LastAccessedAt
            }
            ($expected -join "`n") -eq ($actual -join "`n")
            $actual
            """, ("path", path), ("all", loopback.Concat(local).ToArray()), ("loopback", loopback), ("local", local));

        Assert.True(result.Output[0].BaseObject is true, string.Join("\n", result.BaseOutput.Skip(1)));
        var rows = result.BaseOutput.Skip(1).Select(o => o.ToString()!).ToArray();
        Assert.Equal(2, rows.Length);
        // 127.0.0.1: three entries left (one removed), three hits on the first, one expired by the reset.
        Assert.StartsWith($"127.0.0.1:{Origin.BaseAddress.Port} 3 ", rows[0], StringComparison.Ordinal);
        Assert.Matches(@"^\S+ 3 \d+ 3 1 ", rows[0]);
        Assert.Matches(@$"^localhost:{Origin.BaseAddress.Port} 2 \d+ 1 0 ", rows[1]);
    }
}
