using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Cached answers can be private API data: the folders and files a session creates are readable by their owner
/// alone (0700 folders, 0600 files, on Unix: SQLite's file and its -wal and -shm, every file and folder of a
/// FileSystem cache), and an existing file keeps its mode. Seen from the staged module in a fresh pwsh, as a
/// user's ls would show them.
/// </summary>
public sealed class OwnerOnlyFilesTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_new_SQLite_cache_and_a_new_FileSystem_cache_are_owner_only_and_an_existing_file_keeps_its_mode()
    {
        if (OperatingSystem.IsWindows())
        {
            // Windows: the folders get an owner-only, non-inherited ACL, which modes cannot show.
            return;
        }

        using var temp = new TempDirectory();
        var path = origin.NewPath("modes");
        origin.Map(path, OriginBehaviors.Counter());
        var url = origin.Url(path).AbsoluteUri;
        var existing = temp.File("existing.sqlite");
        await File.WriteAllBytesAsync(existing, []);
        File.SetUnixFileMode(existing, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            function mode($p) { (Get-Item -LiteralPath $p -Force).UnixMode }
            $sqlite = New-HttpCacheSession -Path '{{temp.File("new/cache.sqlite")}}'
            $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $sqlite
            $null = Get-HttpCacheStats -Session $sqlite
            "SQLITE=$(mode '{{temp.File("new")}}') $(mode '{{temp.File("new/cache.sqlite")}}') $(mode '{{temp.File("new/cache.sqlite-wal")}}') $(mode '{{temp.File("new/cache.sqlite-shm")}}')"
            $fs = New-HttpCacheSession -Backend FileSystem -Path '{{temp.File("fs")}}'
            $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $fs
            $null = Get-HttpCacheStats -Session $fs
            $modes = Get-ChildItem -LiteralPath '{{temp.File("fs")}}' -Recurse -Force | ForEach-Object { "$(if ($_.PSIsContainer) { 'd' } else { 'f' })$($_.UnixMode)" } | Sort-Object -Unique
            "FS=$(mode '{{temp.File("fs")}}') $($modes -join ' ')"
            $old = New-HttpCacheSession -Path '{{existing}}'
            $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $old
            "EXISTING=$(mode '{{existing}}')"
            """,
            timeout: TimeSpan.FromSeconds(60));

        run.AssertSuccess();
        Assert.Equal("drwx------ -rw------- -rw------- -rw-------", run.Value("SQLITE"));
        Assert.Equal("drwx------ ddrwx------ f-rw-------", run.Value("FS"));
        Assert.Equal("-rw-r--r--", run.Value("EXISTING"));
    }
}
