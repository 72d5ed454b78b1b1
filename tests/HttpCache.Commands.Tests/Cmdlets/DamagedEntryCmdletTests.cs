using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A cached body damaged on disk (bytes changed inside the SQLite file, a FileSystem .body edited by hand) is never
/// served: Invoke-CachedWebRequest warns, answers from the origin, Get-HttpCacheStats counts it in CorruptEntries,
/// and the next request is a hit again. The staged module in fresh pwsh processes, before and after the damage.
/// </summary>
public sealed class DamagedEntryCmdletTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task A_body_damaged_on_disk_is_refetched_counted_and_warned_about(string backend)
    {
        using var temp = new TempDirectory();
        var marker = "integrity-" + Guid.NewGuid().ToString("N");
        var body = string.Concat(Enumerable.Repeat(marker + ";", 100));
        var path = origin.NewPath("damaged");
        origin.Map(path, context => TestOrigin.WriteAsync(context, 200, body, new Dictionary<string, string> { ["Content-Type"] = "text/plain" }));
        var url = origin.Url(path).AbsoluteUri;
        var session = backend == "Sqlite"
            ? $"New-HttpCacheSession -Path '{temp.File("c.sqlite")}'"
            : $"New-HttpCacheSession -Backend FileSystem -Path '{temp.File("fs")}'";

        var store = await PwshProcess.RunCommandAsync(
            $"Import-Module $env:HTTPCACHE_MODULE_MANIFEST; $s = {session}; $null = Invoke-CachedWebRequest -Uri '{url}' -Session $s; $s.Dispose()",
            timeout: TimeSpan.FromSeconds(60));
        store.AssertSuccess();

        // One byte of the stored body changed where the backend keeps it.
        var file = backend == "Sqlite" ? temp.File("c.sqlite") : Directory.EnumerateFiles(temp.File("fs"), "*.body", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(file);
        var at = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(marker));
        Assert.True(at >= 0, "the body is in the file");
        bytes[at] = (byte)'I';
        await File.WriteAllBytesAsync(file, bytes);

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{session}}
            $damaged = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -WarningVariable w -WarningAction SilentlyContinue
            $again = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s
            $stats = Get-HttpCacheStats -Session $s
            "RESULT=$($damaged.FromCache) $($damaged.Content -ceq '{{body}}') $($again.FromCache) $($again.Content -ceq '{{body}}') $($stats.CorruptEntries)"
            "WARNING=$($w[0])"
            """,
            timeout: TimeSpan.FromSeconds(60));

        run.AssertSuccess();
        Assert.Equal("False True True True 1", run.Value("RESULT"));
        Assert.Contains("checksum", run.Value("WARNING"), StringComparison.Ordinal);
        Assert.Equal(2, origin.RequestCount(path));
    }
}
