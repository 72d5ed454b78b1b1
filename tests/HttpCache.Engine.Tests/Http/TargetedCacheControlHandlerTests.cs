using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>CDN-Cache-Control (RFC 9213) against a real Kestrel origin, in shared and private sessions.</summary>
public sealed class TargetedCacheControlHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task Rfc9213_2_1_CDN_Cache_Control_decides_for_a_shared_session_only(bool shared, int originRequests)
    {
        // "the cache MUST select the first (in target list order) field with a valid, non-empty value and use its
        // value to determine the caching policy for the response, and MUST ignore the Cache-Control and Expires"
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { Shared = shared });
        var path = origin.NewPath("cdn");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string>
        {
            ["Cache-Control"] = "no-store",
            ["CDN-Cache-Control"] = "max-age=60",
        }));

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(shared, second.Info.FromCache);
        Assert.Equal(originRequests, origin.RequestCount(path));
    }
}
