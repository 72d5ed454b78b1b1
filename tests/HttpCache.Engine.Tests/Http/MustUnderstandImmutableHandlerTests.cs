using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>must-understand (RFC 9111 §5.2.2.3) and immutable (RFC 8246) against a real Kestrel origin.</summary>
public sealed class MustUnderstandImmutableHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task Rfc9111_5_2_2_3_must_understand_with_no_store_is_stored_and_reused()
    {
        // "a cache that understands and conforms to the requirements of that status code ... ignores no-store"
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("must-understand");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=60, no-store, must-understand" }));

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.True(second.Info.FromCache);
        Assert.Equal("1", second.Body);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc8246_2_A_reload_does_not_revalidate_a_fresh_immutable_answer()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("immutable");
        origin.Map(path, OriginBehaviors.ETag("\"v1\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=3600, immutable" }));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromSeconds(10));
        var reload = await cache.GetAsync(origin.Url(path), null, "Cache-Control: max-age=0");
        var forced = await cache.GetAsync(origin.Url(path), null, "Cache-Control: no-cache");

        Assert.True(reload.Info.FromCache);
        Assert.Equal(CacheReason.FreshHit, reload.Info.Reason);
        Assert.Equal(CacheReason.Revalidated, forced.Info.Reason);
        Assert.Equal(2, origin.RequestCount(path));
    }
}
