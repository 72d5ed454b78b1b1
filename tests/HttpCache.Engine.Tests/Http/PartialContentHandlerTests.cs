using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// 206 answers from a real Kestrel origin stored as parts and combined (RFC 9111 §3.3–3.4, RFC 9110 §15.3.7.3).
/// </summary>
public sealed class PartialContentHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Body = "0123456789";

    private readonly TestOrigin origin = fixture.Origin;

    private static Dictionary<string, string> Fields(string etag) => new() { ["Cache-Control"] = "max-age=60", ["ETag"] = etag };

    private static string? Raw(HttpResponseMessage response, string name) =>
        response.Content.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    [Fact]
    public async Task Rfc9111_3_3_A_stored_206_answers_a_range_wholly_within_it_and_no_other()
    {
        // "A cache MUST NOT use an incomplete response to answer requests unless the response has been made
        // complete, or the request is partial and specifies a range wholly within the incomplete response."
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("part");
        origin.Map(path, OriginBehaviors.Ranges(Body, Fields("\"v1\"")));

        var first = await cache.GetAsync(origin.Url(path), null, "Range: bytes=2-6");
        var inside = await cache.GetAsync(origin.Url(path), null, "Range: bytes=3-5");
        Assert.Equal(1, origin.RequestCount(path));
        var outside = await cache.GetAsync(origin.Url(path), null, "Range: bytes=5-8");
        var plain = await cache.GetAsync(origin.Url(path));

        Assert.Equal((206, "23456"), (first.Status, first.Body));
        Assert.Equal((206, "345", "bytes 3-5/10"), (inside.Status, inside.Body, Raw(inside.Response, "Content-Range")));
        Assert.True(inside.Info.FromCache);
        Assert.Equal((206, "5678"), (outside.Status, outside.Body));
        Assert.False(outside.Info.FromCache);
        Assert.Equal((200, Body), (plain.Status, plain.Body));
        Assert.False(plain.Info.FromCache);
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Rfc9111_3_4_Parts_that_add_up_are_combined_into_a_complete_200(string backend)
    {
        // "A cache MAY combine these ranges into a single stored response, and reuse that response to satisfy later
        // requests, if they all share the same strong validator". RFC 9110 §15.3.7.3: "If the union consists of the
        // entire range of the representation, then the client MUST process the combined response as if it were a
        // complete 200 (OK) response, including a Content-Length header field that reflects the complete length."
        await using var cache = CacheHarness.Create(backend);
        var path = origin.NewPath("combine");
        origin.Map(path, OriginBehaviors.Ranges(Body, Fields("\"v1\"")));

        await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-3");
        // §3.4: "a cache MUST use the header fields provided in the new response, aside from Content-Range".
        origin.Map(path, OriginBehaviors.Ranges(Body, new Dictionary<string, string>(Fields("\"v1\"")) { ["X-Part"] = "second" }));
        await cache.GetAsync(origin.Url(path), null, "Range: bytes=4-9");
        var whole = await cache.GetAsync(origin.Url(path));
        var ranged = await cache.GetAsync(origin.Url(path), null, "Range: bytes=3-4");

        Assert.Equal((200, Body), (whole.Status, whole.Body));
        Assert.True(whole.Info.FromCache);
        Assert.Equal(10, whole.Response.Content.Headers.ContentLength);
        Assert.Null(Raw(whole.Response, "Content-Range"));
        Assert.Equal("second", string.Join(",", whole.Response.Headers.GetValues("X-Part")));
        Assert.Equal((206, "34"), (ranged.Status, ranged.Body));
        Assert.True(ranged.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
        // The spent part is gone: one entry, the complete answer.
        var entry = Assert.Single(await cache.EntriesAsync());
        Assert.Equal(200, entry.StatusCode);
    }

    [Fact]
    public async Task Rfc9110_15_3_7_3_Overlapping_parts_combine_into_one_larger_part()
    {
        // "A client that has received multiple partial responses to GET requests on a target resource MAY combine
        // those responses into a larger continuous range if they share the same strong validator."
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("overlap");
        origin.Map(path, OriginBehaviors.Ranges(Body, Fields("\"v1\"")));

        await cache.GetAsync(origin.Url(path), null, "Range: bytes=1-4");
        await cache.GetAsync(origin.Url(path), null, "Range: bytes=3-7");
        var spanning = await cache.GetAsync(origin.Url(path), null, "Range: bytes=2-6");

        Assert.Equal((206, "23456", "bytes 2-6/10"), (spanning.Status, spanning.Body, Raw(spanning.Response, "Content-Range")));
        Assert.True(spanning.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_3_4_A_part_with_another_validator_replaces_the_stored_one()
    {
        // Parts combine only "if they all share the same strong validator": the representation changed, and the
        // newer part is the one kept.
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("revised");
        origin.Map(path, OriginBehaviors.Ranges(Body, Fields("\"v1\"")));
        await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-4");
        origin.Map(path, OriginBehaviors.Ranges("abcdefghij", Fields("\"v2\"")));
        await cache.GetAsync(origin.Url(path), null, "Range: bytes=5-9");

        var newer = await cache.GetAsync(origin.Url(path), null, "Range: bytes=6-7");
        Assert.Equal(2, origin.RequestCount(path));
        var older = await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-1");
        var plain = await cache.GetAsync(origin.Url(path));

        Assert.Equal(("gh", true), (newer.Body, newer.Info.FromCache));
        Assert.Equal(("ab", false), (older.Body, older.Info.FromCache));
        Assert.Equal(("abcdefghij", false), (plain.Body, plain.Info.FromCache));
        Assert.Equal(4, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_3_4_A_206_without_a_strong_validator_is_not_stored()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("weak-part");
        origin.Map(path, OriginBehaviors.Ranges(Body, Fields("W/\"v1\"")));

        var first = await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-4");
        var again = await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-4");

        Assert.Equal(CacheReason.NotStorableStatus, first.Info.StoreReason);
        Assert.False(again.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Empty(await cache.EntriesAsync());
    }
}
