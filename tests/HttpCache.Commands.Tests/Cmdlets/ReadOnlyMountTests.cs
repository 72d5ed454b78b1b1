using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A real failure instead of a hand-written failing store: the cache lives on a tmpfs that is remounted read-only
/// (the tests run as root, so file modes would stop nothing). Through the cmdlets, a FileSystem session under which
/// the file system turns read-only still gets answers from the origin, each failed write is warned about once and
/// counted, entries stored before still hit, and caching resumes when the file system is writable again. A SQLite
/// file cannot turn read-only under an open session (the kernel refuses the remount); opened on a read-only
/// location it is refused by name, and is whole once the location is writable again.
/// </summary>
public sealed class ReadOnlyMountTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [MountFact]
    public async Task AFileSystemCacheThatTurnsReadOnlyFallsBackToTheOriginWarnsOnceAndRecovers()
    {
        var (storedPath, storedUrl) = origin.NewCounterPath("readonly");
        var (newPath, newUrl) = origin.NewCounterPath("readonly");
        using var temp = new TempDirectory();
        using var mount = TmpfsMount.Create(temp.File("disk"), "4m");
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Backend FileSystem -Path $folder
            $null = Invoke-CachedWebRequest -Uri $stored -Session $s
            $null = Get-HttpCacheStats -Session $s
            """, ("folder", Path.Combine(mount.Path, "fs")), ("stored", storedUrl));

        // The FileSystem store holds no file open between requests, so the kernel lets the remount happen under
        // the open session.
        mount.MakeReadOnly();
        var during = await ps.RunAsync("""
            Invoke-CachedWebRequest -Uri $stored -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
            foreach ($i in 1..2) {
                Invoke-CachedWebRequest -Uri $new -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
                "errors=$((Get-HttpCacheStats -Session $s -WarningVariable +statsWarnings -WarningAction SilentlyContinue).Errors)"
            }
            "stats warnings=$($statsWarnings.Count)"
            """, ("stored", storedUrl), ("new", newUrl));

        mount.MakeWritable();
        var after = await ps.RunAsync("""
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $new -Session $s } | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
            $stats = Get-HttpCacheStats -Session $s
            "errors=$($stats.Errors) entries=$($stats.Entries)"
            $s.Dispose()
            """, ("new", newUrl));

        // Read-only: the stored entry still hits (reading needs no write) and the new URL is answered by the
        // origin both times. Each failed write is drained by the statistics (which warn that their own figures
        // could not be saved), then warned about once and counted by the next request.
        Assert.Empty(during.Errors);
        Assert.Equal(["200 1 True", "200 1 False", "errors=0", "200 2 False", "errors=1", "stats warnings=2"], during.BaseOutput.Select(o => o.ToString()));
        var warning = Assert.Single(during.Warnings);
        Assert.Contains("could not write an earlier answer", warning, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", warning, StringComparison.Ordinal);

        // Writable again: the second request's failed write is reported once (the next command shows it), the
        // origin answers the miss, the answer is stored again and hits.
        Assert.Empty(after.Errors);
        Assert.Equal(["200 3 False", "200 3 True", "errors=2 entries=2"], after.BaseOutput.Select(o => o.ToString()));
        var late = Assert.Single(after.Warnings);
        Assert.Contains("could not write an earlier answer", late, StringComparison.Ordinal);
        Assert.Equal(1, origin.RequestCount(storedPath));
        Assert.Equal(3, origin.RequestCount(newPath));
    }

    [MountFact]
    public async Task ASqliteCacheOnAReadOnlyMountIsRefusedByNameAndOpensOnceWritable()
    {
        var (storedPath, storedUrl) = origin.NewCounterPath("readonly");
        using var temp = new TempDirectory();
        using var mount = TmpfsMount.Create(temp.File("disk"), "4m");
        var db = Path.Combine(mount.Path, "cache.sqlite");
        using var ps = PS.Open();

        // An open SQLite session holds its file open for writing, and the kernel refuses to make a file system
        // read-only under an open writer: a SQLite cache meets a read-only location only when it is opened there.
        await ps.Ok("""
            $s = New-HttpCacheSession -Path $db
            $null = Invoke-CachedWebRequest -Uri $stored -Session $s
            $s.Dispose()
            """, ("db", db), ("stored", storedUrl));
        mount.MakeReadOnly();
        var during = await ps.RunAsync("""
            $null = New-HttpCacheSession -Path $db
            """, ("db", db));

        mount.MakeWritable();
        var after = await ps.RunAsync("""
            $s = New-HttpCacheSession -Path $db
            Invoke-CachedWebRequest -Uri $stored -Session $s | ForEach-Object { "$($_.StatusCode) $($_.Content) $($_.FromCache)" }
            $s.Dispose()
            """, ("db", db), ("stored", storedUrl));

        // Read-only: a session that chose this file learns it at once, by name, with the error naming the location.
        var error = Assert.Single(during.Errors);
        Assert.Equal("CacheStoreUnavailable,HttpCache.Commands.NewHttpCacheSessionCommand", error.FullyQualifiedErrorId);
        Assert.Contains(db, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("read-only location", error.ToString(), StringComparison.Ordinal);

        // Writable again: the file opens, and what was stored before is whole and hits.
        Assert.Empty(after.Errors);
        Assert.Empty(after.Warnings);
        Assert.Equal(["200 1 True"], after.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(1, origin.RequestCount(storedPath));
    }
}
