using System.Diagnostics;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A real failure instead of a hand-written failing store: the cache file is locked by another process (the
/// sqlite3 shell holding BEGIN EXCLUSIVE). Requests are still answered by the origin, reads still hit (WAL lets
/// readers past a writer), the statistics warn about the locked file, the failed write is reported once and
/// counted, and caching resumes when the lock goes.
/// </summary>
public sealed class LockedSqliteFileTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task AFileLockedByAnotherProcessFallsBackToTheOriginWarnsOnceAndRecovers()
    {
        var (storedPath, storedUrl) = origin.NewCounterPath("locked");
        var (newPath, newUrl) = origin.NewCounterPath("locked");
        using var temp = new TempDirectory();
        var db = temp.File("cache.sqlite");
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Path $db
            $null = Invoke-CachedWebRequest -Uri $stored -Session $s
            $null = Get-HttpCacheStats -Session $s
            """, ("db", db), ("stored", storedUrl));

        PowerShellResult during;
        PowerShellResult drained;
        await using (var locker = await SqliteShell.LockAsync(db))
        {
            during = await ps.Ok("""
                Invoke-CachedWebRequest -Uri $new -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
                Invoke-CachedWebRequest -Uri $stored -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
                """, ("new", newUrl), ("stored", storedUrl));
            // The statistics wait for the queued write, which meets the lock past its busy timeout; saving their
            // own figures meets it too: they are shown with a warning naming the locked file, not a hang.
            drained = await ps.RunAsync("Get-HttpCacheStats -Session $s");
        }

        var after = await ps.Ok("""
            Invoke-CachedWebRequest -Uri $new -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
            Invoke-CachedWebRequest -Uri $new -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
            (Get-HttpCacheStats -Session $s).Errors -ge 1
            """, ("new", newUrl));

        // Under the lock: the origin answers the miss, the stored entry is still a hit.
        Assert.Equal(["200 1 False", "200 1 True"], during.BaseOutput.Select(o => o.ToString()));
        Assert.Empty(during.Warnings);
        Assert.Empty(drained.Errors);
        Assert.Equal("HttpCache.CacheStats", Assert.Single(drained.Output).TypeName());
        var statsWarning = Assert.Single(drained.Warnings);
        Assert.Contains("locked", statsWarning, StringComparison.Ordinal);
        Assert.Contains(db, statsWarning, StringComparison.Ordinal);

        // Lock gone: the write that failed is reported once, the origin answers again, and caching resumes.
        Assert.Equal(["200 2 False", "200 2 True", "True"], after.BaseOutput.Select(o => o.ToString()));
        var warning = Assert.Single(after.Warnings);
        Assert.Contains("locked", warning, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, origin.RequestCount(newPath));
        Assert.Equal(1, origin.RequestCount(storedPath));
    }

    /// <summary>The sqlite3 shell in a process of its own, holding an exclusive transaction on a file until disposed.</summary>
    private sealed class SqliteShell : IAsyncDisposable
    {
        private readonly Process _process;

        private SqliteShell(Process process) => _process = process;

        public static async Task<SqliteShell> LockAsync(string path)
        {
            var start = new ProcessStartInfo("sqlite3")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(path);
            var process = Process.Start(start) ?? throw new InvalidOperationException("sqlite3 did not start.");
            var shell = new SqliteShell(process);
            // Only once the shell prints this does it hold the lock.
            await process.StandardInput.WriteLineAsync("BEGIN EXCLUSIVE; SELECT 'holding';");
            await process.StandardInput.FlushAsync();
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line != "holding")
            {
                await shell.DisposeAsync();
                throw new InvalidOperationException($"sqlite3 did not take the lock: '{line}' {await process.StandardError.ReadToEndAsync()}");
            }

            return shell;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("ROLLBACK;");
                _process.StandardInput.Close();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            _process.Dispose();
        }
    }
}
