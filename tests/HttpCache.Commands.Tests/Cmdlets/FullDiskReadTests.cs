using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Reading needs no free space: with the disk full under an open session (a real tmpfs filled to the last block,
/// when the tests run as root as CI does), Get-HttpCacheStats and Get-HttpCacheEntry still answer, with this
/// session's unsaved figures counted and a warning saying they could not be saved. Without root, the FileSystem
/// cache's folder is made read-only instead, which fails its writes the same way.
/// </summary>
public sealed class FullDiskReadTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task Stats_and_entries_are_read_while_the_store_cannot_be_written()
    {
        using var temp = new TempDirectory();
        var disk = temp.File("disk");
        Directory.CreateDirectory(disk);
        var root = TmpfsMount.Possible;
        using var mount = root ? TmpfsMount.Create(disk, "2m") : null;

        try
        {
            var path = origin.NewPath("full");
            origin.Map(path, OriginBehaviors.Counter());
            var url = origin.Url(path).AbsoluteUri;
            var backends = root ? "@{ Path = '" + Path.Combine(disk, "c.sqlite") + "' }, " : string.Empty;
            var fill = root
                ? $"$f = [IO.File]::OpenWrite('{Path.Combine(disk, "filler")}'); try {{ $b = [byte[]]::new(4096); while ($true) {{ $f.Write($b, 0, 4096); $f.Flush() }} }} catch {{ }} finally {{ $f.Dispose() }}"
                : $"chmod 0555 '{Path.Combine(disk, "fs")}'; Get-ChildItem '{Path.Combine(disk, "fs")}' -Directory -Recurse | ForEach-Object {{ chmod 0555 $_.FullName }}";
            var run = await PwshProcess.RunCommandAsync(
                $$"""
                Import-Module $env:HTTPCACHE_MODULE_MANIFEST
                $sessions = foreach ($p in @({{backends}}@{ Backend = 'FileSystem'; Path = '{{Path.Combine(disk, "fs")}}' })) { New-HttpCacheSession @p }
                foreach ($s in $sessions) {
                    1..2 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s }
                    $null = Get-HttpCacheStats -Session $s
                    1..3 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s }
                }
                {{fill}}
                foreach ($s in $sessions) {
                    $stats = Get-HttpCacheStats -Session $s -WarningVariable w -WarningAction SilentlyContinue
                    $entries = @(Get-HttpCacheEntry -Session $s)
                    "$($s.Backend)=$($stats.Entries) $($stats.Hits) $($stats.Misses) $($entries.Count) $($w.Count) $([bool]($w[0] -match 'could not be saved'))"
                }
                """,
                timeout: TimeSpan.FromSeconds(90));

            run.AssertSuccess();
            Assert.Equal("1 4 1 1 1 True", run.Value("FileSystem"));
            if (root)
            {
                Assert.Equal("1 4 1 1 1 True", run.Value("Sqlite"));
            }
        }
        finally
        {
            if (!root && !OperatingSystem.IsWindows())
            {
                foreach (var folder in Directory.EnumerateDirectories(disk, "*", SearchOption.AllDirectories).Prepend(disk))
                {
                    File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
        }
    }
}
