using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>RFC 9111 §3 against a real Kestrel origin: a final status with explicit freshness is reused.</summary>
public sealed class StorableStatusHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData(404)]
    [InlineData(410)]
    [InlineData(500)]
    public async Task Rfc9111_3_A_fresh_answer_of_any_final_status_is_reused(int status)
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("status");
        origin.Map(path, OriginBehaviors.Status(status, new Dictionary<string, string> { ["Cache-Control"] = "max-age=60"}));

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.Stored, first.Info.StoreReason);
        Assert.Equal(status, second.Status);
        Assert.True(second.Info.FromCache);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_3_Without_explicit_freshness_AllowedStatusCodes_decides()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("status-plain");
        origin.Map(path, OriginBehaviors.Status(404));

        var first = await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.NotStorableStatus, first.Info.StoreReason);
        Assert.Equal(2, origin.RequestCount(path));
    }
}
