using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A body large enough to be streamed (over 1 MiB) through -OutFile: written byte for byte on the miss that stores it
/// and on the hit that reads it back, on both streaming backends; and a stored copy damaged in place (same length,
/// other bytes, found only at its end) fails the call with CachedBodyDamaged and takes the half-trusted file with it;
/// a write that fails midway is OutFileWriteFailed; a 96 MiB body never sits in memory whole. The staged module in
/// fresh pwsh processes.
/// </summary>
public sealed class OutFileStreamedBodyCmdletTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    // Three MiB and a piece: over the 1 MiB above which a body is streamed.
    private const int Size = (3 * 1024 * 1024) + 4099;
    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task A_streamed_body_reaches_OutFile_byte_for_byte_on_the_miss_and_on_the_hit(string backend)
    {
        using var temp = new TempDirectory();
        var path = ServeGenerated();
        var url = origin.Url(path).AbsoluteUri;

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{Session(backend, temp)}}
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("miss.bin")}}'
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("hit.bin")}}'
            $stats = Get-HttpCacheStats -Session $s
            "RESULT=$($stats.Hits) $($stats.Misses)"
            """,
            timeout: TimeSpan.FromSeconds(90));

        run.AssertSuccess();
        Assert.Equal("1 1", run.Value("RESULT"));
        var expected = await GeneratedAsync();
        Assert.Equal(expected, await File.ReadAllBytesAsync(temp.File("miss.bin")));
        Assert.Equal(expected, await File.ReadAllBytesAsync(temp.File("hit.bin")));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task A_streamed_body_damaged_in_place_fails_OutFile_with_CachedBodyDamaged_removes_the_file_and_is_fetched_again(string backend)
    {
        using var temp = new TempDirectory();
        var path = ServeGenerated();
        var url = origin.Url(path).AbsoluteUri;
        var stored = await PwshProcess.RunCommandAsync(
            $"Import-Module $env:HTTPCACHE_MODULE_MANIFEST; $s = {Session(backend, temp)}; Invoke-CachedWebRequest -Uri '{url}' -Session $s -OutFile '{temp.File("first.bin")}'; $s.Dispose()",
            timeout: TimeSpan.FromSeconds(90));
        stored.AssertSuccess();

        // One byte of the third MiB changed in the body's file (SQLite keeps it beside the database since schema 7): the
        // length stays, so only the checksum at the end can tell.
        var expected = await GeneratedAsync();
        var needle = expected.AsSpan((2 * 1024 * 1024) + 1000, 32).ToArray();
        var folder = backend == "Sqlite" ? temp.File("c.sqlite.bodies") : temp.File("fs");
        var file = Directory.EnumerateFiles(folder, "*.body", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(file);
        var at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at >= 0, "the body's bytes are in its file");
        bytes[at] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{Session(backend, temp)}}
            try {
                Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("damaged.bin")}}'
                "DAMAGED=none"
            }
            catch {
                "DAMAGED=$($_.FullyQualifiedErrorId) $(Test-Path '{{temp.File("damaged.bin")}}') $((Get-HttpCacheStats -Session $s).CorruptEntries)"
            }
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("again.bin")}}'
            """,
            timeout: TimeSpan.FromSeconds(90));

        run.AssertSuccess();
        Assert.Equal("CachedBodyDamaged,HttpCache.Commands.InvokeCachedWebRequestCommand False 1", run.Value("DAMAGED"));
        Assert.Equal(expected, await File.ReadAllBytesAsync(temp.File("again.bin")));
        Assert.Equal(2, origin.RequestCount(path));
    }

    // The kernel's resettable high-water mark (/proc/self/clear_refs) is Linux's; elsewhere the engine's own memory tests stand.
    [LinuxTheory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task A_large_body_through_OutFile_stays_out_of_memory_on_the_miss_and_on_the_hit(string backend)
    {
        const long large = 96L * 1024 * 1024;
        using var temp = new TempDirectory();
        var path = ServeGenerated(large);
        var url = origin.Url(path).AbsoluteUri;

        // Per call: the peak resident set (VmHWM, reset just before) over the resident set at its start, in MiB.
        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{Session(backend, temp)}}
            function Get-Kib([string] $name) { [long](((Get-Content /proc/self/status) -match "^${name}:")[0] -replace '\D', '') }
            function Measure-Peak([scriptblock] $call) {
                [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
                [IO.File]::WriteAllText('/proc/self/clear_refs', '5')
                $before = Get-Kib VmRSS
                & $call
                [math]::Round(((Get-Kib VmHWM) - $before) / 1024)
            }
            # The warm-up's own first-call costs stay out of the measure.
            Invoke-CachedWebRequest -Uri '{{origin.Url(ServeGenerated(Size)).AbsoluteUri}}' -Session $s -OutFile '{{temp.File("warm.bin")}}'
            $miss = Measure-Peak { Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("miss.bin")}}' }
            $hit = Measure-Peak { Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("hit.bin")}}' }
            "PEAKS=$miss $hit"
            "LENGTHS=$((Get-Item '{{temp.File("miss.bin")}}').Length) $((Get-Item '{{temp.File("hit.bin")}}').Length) $((Get-HttpCacheStats -Session $s).Hits)"
            """,
            timeout: TimeSpan.FromSeconds(120));

        run.AssertSuccess();
        Assert.Equal($"{large} {large} 1", run.Value("LENGTHS"));
        var peaks = run.Value("PEAKS")!.Split(' ').Select(long.Parse).ToArray();
        // A body held whole would add its 96 MiB; streaming adds a few 1 MiB buffers and the store's own.
        Assert.All(peaks, peak => Assert.True(peak < 40, $"a call grew the resident set by {peak} MiB (miss, hit: {run.Value("PEAKS")})"));
    }

    [UnixFact]
    public async Task A_disk_that_fills_while_OutFile_is_written_is_OutFileWriteFailed_and_nothing_is_stored()
    {
        // /dev/full opens like a file and fails every write with "no space left on device".
        using var temp = new TempDirectory();
        var path = ServeGenerated();
        var url = origin.Url(path).AbsoluteUri;

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{Session("Sqlite", temp)}}
            try {
                Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile /dev/full
                "FULL=none"
            }
            catch {
                "FULL=$($_.FullyQualifiedErrorId) $($_.CategoryInfo.Category)"
            }
            "ENTRIES=$(@(Get-HttpCacheEntry -Session $s).Count)"
            """,
            timeout: TimeSpan.FromSeconds(90));

        run.AssertSuccess();
        Assert.Equal("OutFileWriteFailed,HttpCache.Commands.InvokeCachedWebRequestCommand WriteError", run.Value("FULL"));
        Assert.Equal("0", run.Value("ENTRIES"));
    }

    private static string Session(string backend, TempDirectory temp) => backend == "Sqlite"
        ? $"New-HttpCacheSession -Path '{temp.File("c.sqlite")}' -MaxBodySize 256MB"
        : $"New-HttpCacheSession -Backend FileSystem -Path '{temp.File("fs")}' -MaxBodySize 256MB";

    private static async Task<byte[]> GeneratedAsync()
    {
        using var body = new MemoryStream();
        await GeneratedBody.WriteAsync(body, Size, CancellationToken.None);
        return body.ToArray();
    }

    private string ServeGenerated(long size = Size)
    {
        var path = origin.NewPath("large");
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=3600";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = size;
            await GeneratedBody.WriteAsync(context.Response.Body, size, context.RequestAborted);
        });
        return path;
    }
}
