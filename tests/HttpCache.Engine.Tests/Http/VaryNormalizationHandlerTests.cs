using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>RFC 9111 §4.1 against a real Kestrel origin: equivalent request fields select the same stored variant.</summary>
public sealed class VaryNormalizationHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task Rfc9111_4_1_An_equivalent_Accept_Language_is_a_hit_a_different_one_a_miss()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("vary-language");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=60", ["Vary"] = "Accept-Language" }));

        await cache.GetAsync(origin.Url(path), null, "Accept-Language: en-US, fr;q=0.5");
        var equivalent = await cache.GetAsync(origin.Url(path), null, "Accept-Language: FR; q=0.50,en-us");
        var different = await cache.GetAsync(origin.Url(path), null, "Accept-Language: de");

        Assert.True(equivalent.Info.FromCache);
        Assert.Equal("1", equivalent.Body);
        Assert.False(different.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }
}
