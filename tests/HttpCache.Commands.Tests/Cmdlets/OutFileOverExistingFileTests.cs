using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// -OutFile opens its file without truncating a new one (a truncation makes ext4 write the whole file back inside its
/// close), so a file that already holds bytes must still be emptied first: on the miss and on the hit, a longer file
/// already at the path ends up holding the body and nothing after it, as with Invoke-WebRequest. The staged module in a
/// fresh pwsh.
/// </summary>
public sealed class OutFileOverExistingFileTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_longer_file_already_at_the_OutFile_path_holds_only_the_body_after_the_miss_and_after_the_hit()
    {
        using var temp = new TempDirectory();
        var body = Encoding.UTF8.GetBytes("{\"short\":true}");
        var path = origin.NewPath("short");
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=3600";
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body);
        });
        var url = origin.Url(path).AbsoluteUri;
        var longer = new string('x', 64 * 1024);
        await File.WriteAllTextAsync(temp.File("miss.json"), longer);
        await File.WriteAllTextAsync(temp.File("hit.json"), longer);

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Path '{{temp.File("c.sqlite")}}'
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("miss.json")}}'
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("hit.json")}}'
            $stats = Get-HttpCacheStats -Session $s
            "RESULT=$($stats.Hits) $($stats.Misses)"
            """);

        run.AssertSuccess();
        Assert.Equal("1 1", run.Value("RESULT"));
        Assert.Equal(body, await File.ReadAllBytesAsync(temp.File("miss.json")));
        Assert.Equal(body, await File.ReadAllBytesAsync(temp.File("hit.json")));
    }
}
