using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A pwsh process killed (SIGKILL) in the middle of a large download into a SQLite session leaves a pending write and
/// its partial body file beside the database; the next session that opens the database finds the writer gone and
/// deletes both, and the download is stored whole when it is asked for again. The staged module in real processes.
/// </summary>
public sealed class KilledLargeDownloadSqliteTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const int Size = 8 * 1024 * 1024;
    private const int SentBeforeHold = 3 * 1024 * 1024;
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task The_partial_body_file_of_a_killed_download_goes_when_the_next_session_opens_the_database()
    {
        using var temp = new TempDirectory();
        var database = temp.File("c.sqlite");
        var bodies = database + ".bodies";
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var path = origin.NewPath("killed");
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=3600";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = Size;
            if (TestOrigin.RequestNumber(context) == 1)
            {
                // The first answer stops part-way until its client is gone.
                await context.Response.Body.WriteAsync(new byte[SentBeforeHold], context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.WhenAny(held.Task, Task.Delay(Timeout.Infinite, context.RequestAborted));
                return;
            }

            await context.Response.Body.WriteAsync(new byte[Size], context.RequestAborted);
        });
        var url = origin.Url(path).AbsoluteUri;
        var session = $"New-HttpCacheSession -Path '{database}' -MaxBodySize 64MB";

        using var kill = new CancellationTokenSource();
        var download = PwshProcess.RunCommandAsync(
            $"Import-Module $env:HTTPCACHE_MODULE_MANIFEST; $s = {session}; Invoke-CachedWebRequest -Uri '{url}' -Session $s -OutFile '{temp.File("out.bin")}'",
            timeout: TimeSpan.FromSeconds(90),
            cancellationToken: kill.Token);

        // Killed once its body file holds most of what the origin sent (proof the write is under way).
        while (!download.IsCompleted && BodyFileBytes(bodies) < SentBeforeHold - (1024 * 1024))
        {
            await Task.WhenAny(download, Task.Delay(50));
        }

        Assert.False(download.IsCompleted, "the download ended before it was killed");
        await kill.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);
        held.TrySetResult();
        Assert.Single(Directory.EnumerateFiles(bodies, "*.body"));

        var again = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = {{session}}
            "LEFT=$(@(Get-ChildItem '{{bodies}}' -Filter *.body).Count)"
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("again.bin")}}'
            $hit = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s -OutFile '{{temp.File("hit.bin")}}' -PassThru
            "HIT=$($hit.FromCache) $(@(Get-ChildItem '{{bodies}}' -Filter *.body).Count)"
            """,
            timeout: TimeSpan.FromSeconds(90));

        again.AssertSuccess();
        Assert.Equal("0", again.Value("LEFT"));
        Assert.Equal("True 1", again.Value("HIT"));
        Assert.Equal(Size, new FileInfo(temp.File("hit.bin")).Length);
        Assert.Equal(2, origin.RequestCount(path));
    }

    private static long BodyFileBytes(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.body").Sum(file => new FileInfo(file).Length) : 0;
}
