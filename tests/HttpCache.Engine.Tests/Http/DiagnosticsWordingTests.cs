using HttpCache.Engine.Diagnostics;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// A decision's explanation is put into words only when the diagnostics are read; it still names the request as it
/// was decided, and a caller that shows no explanations can tell whether there are warnings without wording them.
/// </summary>
public sealed class DiagnosticsWordingTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private Uri Counter()
    {
        var path = origin.NewPath();
        origin.Map(path, OriginBehaviors.MaxAge(60));
        return origin.Url(path);
    }

    [Fact]
    public async Task An_explanation_read_later_names_the_request_as_it_was_decided()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter();
        await cache.GetAsync(url);
        await cache.Session.Handler.DrainWritesAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, url);

        var response = await cache.Session.SendAsync(request);
        request.RequestUri = new Uri("http://elsewhere.invalid/");
        request.Method = HttpMethod.Post;
        var info = response.GetCacheInfo()!;

        var decision = Assert.Single(info.Diagnostics, d => d.EventId == CacheEventId.Decision);
        Assert.Equal(CacheDiagnosticLevel.Verbose, decision.Level);
        Assert.StartsWith($"GET {url}: fresh-hit, served from the cache (age ", decision.Message, StringComparison.Ordinal);
        Assert.Same(info.Diagnostics, info.Diagnostics);
        Assert.False(info.HasWarnings);
    }

    [Fact]
    public async Task A_warning_is_known_without_wording_the_explanations()
    {
        await using var store = new FailingStore { FailReads = true };
        await using var cache = CacheHarness.Over(store);

        var answer = await cache.GetAsync(Counter());

        Assert.True(answer.Info.HasWarnings);
        Assert.Contains(answer.Info.Diagnostics, d => d.Level == CacheDiagnosticLevel.Warning && d.Message.Contains("could not read", StringComparison.Ordinal));
        Assert.All(answer.Info.Diagnostics, d => Assert.NotEqual(string.Empty, d.Message));
    }
}
