using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>Qualified no-cache and private (RFC 9111 §5.2.2.4, §5.2.2.7) against a real Kestrel origin.</summary>
public sealed class QualifiedDirectiveHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static bool Has(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.Contains(name) || response.Content.Headers.NonValidated.Contains(name);

    [Fact]
    public async Task Rfc9111_5_2_2_4_A_qualified_no_cache_answer_is_reused_without_revalidation_minus_the_named_field()
    {
        // "a cache MAY use the response to satisfy a subsequent request ... any header fields in the response that
        // have the field name(s) listed MUST NOT be sent in the response to a subsequent request without
        // successful revalidation"
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("no-cache-field");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string>
        {
            ["Cache-Control"] = "max-age=60, no-cache=\"Set-Cookie\"",
            ["Set-Cookie"] = "session=for-the-first-caller",
        }));

        var miss = await cache.GetAsync(origin.Url(path));
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.True(Has(miss.Response, "Set-Cookie"));
        Assert.True(hit.Info.FromCache);
        Assert.Equal(CacheReason.FreshHit, hit.Info.Reason);
        Assert.Equal("1", hit.Body);
        Assert.False(Has(hit.Response, "Set-Cookie"));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rfc9111_5_2_2_7_A_qualified_private_field_is_kept_from_a_shared_store_only(bool shared)
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { Shared = shared });
        var path = origin.NewPath("private-field");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string>
        {
            ["Cache-Control"] = "max-age=60, private=\"X-User\"",
            ["X-User"] = "alice",
        }));

        await cache.GetAsync(origin.Url(path));
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.True(hit.Info.FromCache);
        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(!shared, Has(hit.Response, "X-User"));
    }
}
