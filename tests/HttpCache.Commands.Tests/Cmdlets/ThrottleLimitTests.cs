using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Many URLs with -ThrottleLimit: collected from the pipeline, fetched concurrently through the engine's async
/// API, every outcome written from the pipeline thread; one failing URL is an error record of its own.
/// </summary>
public sealed class ThrottleLimitTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.InvokeCachedWebRequestCommand";
    private readonly TestOrigin origin = fixture.Origin;

    /// <summary>A path whose answers take <paramref name="delay"/> (or come at once) and count the requests.</summary>
    private (string Path, string Url) SlowCounter(TimeSpan delay)
    {
        var path = origin.NewPath("slow");
        origin.Map(path, delay > TimeSpan.Zero ? OriginBehaviors.Slow(delay, OriginBehaviors.Counter()) : OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

    [Fact]
    public async Task FetchesManyUrlsConcurrentlyAndOneFailureIsThatUrlsErrorAlone()
    {
        // The origin holds every request until the test lets it go: four held at once proves the overlap, and
        // letting them go one at a time shows the fifth waits for a free slot (never more than four held).
        var gate = new OriginGate();
        var path = origin.NewPath("held");
        origin.Map(path, gate.Hold(OriginBehaviors.Counter()));
        var url = origin.Url(path).AbsoluteUri;
        var failing = origin.NewPath("failing");
        origin.Map(failing, OriginBehaviors.Status(500));
        var failingUrl = origin.Url(failing).AbsoluteUri;
        var urls = Enumerable.Range(0, 12).Select(i => $"{url}?n={i}").Append(failingUrl).ToArray();
        var guard = TimeSpan.FromSeconds(30);

        using var ps = PS.Open();
        var run = ps.RunAsync("""
            $s = New-HttpCacheSession -Backend Memory
            $urls | Invoke-CachedWebRequest -Session $s -ThrottleLimit 4 -ErrorVariable failed
            'after'
            $failed.Count
            """, ("urls", urls));
        await gate.WhenHeldAsync(4).WaitAsync(guard);
        for (var released = 1; released <= 8; released++)
        {
            gate.ReleaseOne();
            await gate.WhenArrivedAsync(4 + released).WaitAsync(guard);
        }

        gate.Release();
        var result = await run.WaitAsync(guard);

        Assert.False(result.Threw, result.ToString());
        var answers = result.Output.Take(12).ToArray();
        Assert.All(answers, a => Assert.Equal("HttpCache.CachedResponse", a.TypeName()));
        Assert.Equal(urls.Take(12).Order(), answers.Select(a => a.Prop<string>("Uri")).Order());
        Assert.Equal(["after", 1], result.BaseOutput.Skip(12));

        var error = Assert.Single(result.Errors);
        Assert.Equal($"WebCmdletWebResponseException,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(failingUrl, error.TargetObject?.ToString());
        Assert.Equal(500, (int)((dynamic)error.Exception).Response.StatusCode);

        Assert.Equal(12, origin.RequestCount(path));
        Assert.Equal(4, gate.MostHeld);
    }

    [Fact]
    public async Task ProgressIsWrittenAndCompleted()
    {
        var (_, url) = SlowCounter(TimeSpan.FromMilliseconds(10));
        var urls = Enumerable.Range(0, 5).Select(i => $"{url}?p={i}").ToArray();
        using var ps = PS.Open();
        var result = await ps.Ok("$urls | Invoke-CachedWebRequest -Session (New-HttpCacheSession -Backend Memory) -ThrottleLimit 2 | ForEach-Object { $null = $_ }", ("urls", urls));

        var bars = result.Progress.Where(p => p.Activity.StartsWith("Fetching 5 URLs", StringComparison.Ordinal)).ToArray();
        Assert.True(bars.Length >= 6, $"{bars.Length} progress records");
        Assert.Contains(bars, p => p.StatusDescription == "5 of 5" && p.PercentComplete == 100);
        Assert.Equal(ProgressRecordType.Completed, bars[^1].RecordType);
    }

    [Fact]
    public async Task AnInvalidUrlIsItsOwnErrorAndTheOthersGoOn()
    {
        var (path, url) = SlowCounter(TimeSpan.Zero);
        using var ps = PS.Open();
        var result = await ps.RunAsync("$urls | Invoke-CachedWebRequest -Session (New-HttpCacheSession -Backend Memory) -ThrottleLimit 3", ("urls", new[] { url, "not a url", url + "?b=1" }));

        Assert.False(result.Threw, result.ToString());
        Assert.Equal([$"InvalidUri,{Cmdlet}"], result.ErrorIds);
        Assert.Equal(2, result.Output.Count);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task ADroppedConnectionIsItsOwnRequestFailedError()
    {
        var (_, url) = SlowCounter(TimeSpan.Zero);
        var dropped = origin.NewPath("drop");
        origin.Map(dropped, OriginBehaviors.Drop());
        using var ps = PS.Open();
        var result = await ps.RunAsync("$urls | Invoke-CachedWebRequest -Session (New-HttpCacheSession -Backend Memory) -ThrottleLimit 2", ("urls", new[] { url, origin.Url(dropped).AbsoluteUri }));

        Assert.False(result.Threw, result.ToString());
        Assert.Equal([$"RequestFailed,{Cmdlet}"], result.ErrorIds);
        Assert.Single(result.Output);
    }

    [Fact]
    public async Task SecondWarmingIsServedFromTheCache()
    {
        var (path, url) = SlowCounter(TimeSpan.Zero);
        var urls = Enumerable.Range(0, 6).Select(i => $"{url}?w={i}").ToArray();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = $urls | Invoke-CachedWebRequest -Session $s -ThrottleLimit 3
            $urls | Invoke-CachedWebRequest -Session $s -ThrottleLimit 3 | ForEach-Object FromCache
            """, ("urls", urls));

        Assert.Equal(Enumerable.Repeat<object>(true, 6), result.BaseOutput);
        Assert.Equal(6, origin.RequestCount(path));
    }

    [Fact]
    public async Task ExpiredEntriesRevalidateThroughThePipeline()
    {
        var path = origin.NewPath("etag");
        origin.Map(path, OriginBehaviors.ETag("\"v1\""));
        var urls = Enumerable.Range(0, 4).Select(i => origin.Url($"{path}?e={i}").AbsoluteUri).ToArray();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = $urls | Invoke-CachedWebRequest -Session $s
            $null = Reset-HttpCacheExpiration -ExpireAfter 0 -Session $s
            Get-HttpCacheEntry -Session $s -Expired | Invoke-CachedWebRequest -Refresh -ThrottleLimit 2 | ForEach-Object Reason
            """, ("urls", urls));

        Assert.Equal(Enumerable.Repeat<object>("revalidated", 4), result.BaseOutput);
        Assert.Equal(8, origin.RequestCount(path));
    }

    [Fact]
    public async Task OutFileWithThrottleLimitIsRefused()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("'http://127.0.0.1:1/x' | Invoke-CachedWebRequest -ThrottleLimit 2 -OutFile ./x.bin -Session (New-HttpCacheSession -Backend Memory)");

        Assert.Equal($"ConflictingParameters,{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task ErrorActionStopEndsTheBatchAtTheFirstFailure()
    {
        var (_, url) = SlowCounter(TimeSpan.FromMilliseconds(50));
        var failing = origin.NewPath("failing-stop");
        origin.Map(failing, OriginBehaviors.Status(503));
        using var ps = PS.Open();
        var error = await ps.Fails(
            "$urls | Invoke-CachedWebRequest -Session (New-HttpCacheSession -Backend Memory) -ThrottleLimit 2 -ErrorAction Stop | ForEach-Object { $null = $_ }",
            ("urls", new[] { origin.Url(failing).AbsoluteUri }.Concat(Enumerable.Range(0, 6).Select(i => $"{url}?s={i}")).ToArray()));

        Assert.Equal($"WebCmdletWebResponseException,{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TimeoutSecIsAppliedInsideTheCacheSoAStaleAnswerCanStandIn()
    {
        // The second request is held at the origin and never let go: only -TimeoutSec can end it (else the
        // runner's own limit fails the test), and the origin sees it given up.
        var gate = new OriginGate();
        var path = origin.NewPath("stale-on-timeout");
        var counter = OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=0, stale-if-error=600" });
        var held = gate.Hold(counter);
        origin.Map(path, context => TestOrigin.RequestNumber(context) > 1 ? held(context) : counter(context));
        var url = origin.Url(path).AbsoluteUri;
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s -TimeoutSec 1
            """, ("u", url));

        var answer = Assert.Single(result.Output);
        Assert.True(answer.Prop<bool>("FromCache"));
        Assert.Equal("stale-if-error", answer.Prop<string>("Reason"));
        Assert.Equal("1", answer.Prop<string>("Content"));
        await gate.WhenAbortedAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
