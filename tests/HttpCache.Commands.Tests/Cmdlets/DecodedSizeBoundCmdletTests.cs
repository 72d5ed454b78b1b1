using System.IO.Compression;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// -MaxBodySize bounds the decoded body: a small gzip answer that decodes past it is not cached, and the caller
/// still gets the whole decoded body, as Invoke-WebRequest would give it (-OutFile streams it to disk instead).
/// </summary>
public sealed class DecodedSizeBoundCmdletTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const int Decoded = 32 * 1024 * 1024;
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_gzip_answer_that_decodes_past_MaxBodySize_reaches_the_caller_whole_and_is_not_cached()
    {
        byte[] gzipped;
        using (var output = new MemoryStream())
        {
            using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                gzip.Write(new byte[Decoded]);
            }

            gzipped = output.ToArray();
        }

        var path = origin.NewPath("bomb");
        origin.Map(path, async context =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = gzipped.Length;
            await context.Response.Body.WriteAsync(gzipped);
        });
        using var temp = new TempDirectory();
        var url = origin.Url(path).AbsoluteUri;

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Path '{{temp.File("c.sqlite")}}' -MaxBodySize 1MB
            $r = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s
            $null = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("out.bin")}}'
            "RESULT=$($r.RawContentLength) $($r.StoreReason) $((Get-Item '{{temp.File("out.bin")}}').Length) $(@(Get-HttpCacheEntry -Session $s).Count)"
            """,
            timeout: TimeSpan.FromSeconds(90));

        run.AssertSuccess();
        Assert.Equal($"{Decoded} not-storable-too-large {Decoded} 0", run.Value("RESULT"));
        Assert.Equal(2, origin.RequestCount(path));
    }
}
