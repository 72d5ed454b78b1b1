using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// RFC 9111 §4.3.2 against a real Kestrel origin: "When a cache receives a request that can be satisfied by a
/// stored response and that stored response contains a validator, the cache SHOULD evaluate any applicable
/// conditional header field preconditions received in that request with respect to the corresponding validators
/// contained within the stored response."
/// </summary>
public sealed class ConditionalAnswerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private const string LastModified = "Mon, 13 Jan 2025 10:00:00 GMT";

    private string MapFresh(string etag = "\"v1\"")
    {
        var path = origin.NewPath("cond");
        origin.Respond(path, 200, new Dictionary<string, string>
        {
            ["Cache-Control"] = "max-age=60",
            ["ETag"] = etag,
            ["Last-Modified"] = LastModified,
            ["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT",
            ["Vary"] = "Accept",
            ["Content-Location"] = "/cond.txt",
            ["X-Other"] = "not in a 304",
        }, "stored body");
        return path;
    }

    private static string? Raw(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    [Theory]
    [InlineData("If-None-Match: \"v1\"")]
    [InlineData("If-None-Match: W/\"v1\"")]
    [InlineData("If-None-Match: \"v0\", \"v1\"")]
    [InlineData("If-Modified-Since: Mon, 13 Jan 2025 10:00:00 GMT")]
    public async Task Rfc9111_4_3_2_A_condition_that_holds_is_answered_304_from_the_cache(string condition)
    {
        await using var cache = CacheHarness.Create();
        var path = MapFresh();
        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromSeconds(5));

        var answer = await cache.GetAsync(origin.Url(path), null, condition);

        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(304, answer.Status);
        Assert.Equal(string.Empty, answer.Body);
        Assert.True(answer.Info.FromCache);
        Assert.Equal(CacheReason.FreshHit, answer.Info.Reason);
        foreach (var name in new[] { "ETag", "Cache-Control", "Date", "Expires", "Vary", "Content-Location" })
        {
            Assert.Equal(Raw(first.Response, name), Raw(answer.Response, name));
        }

        Assert.Null(Raw(answer.Response, "X-Other"));
        Assert.Equal(TimeSpan.FromSeconds(5), answer.Response.Headers.Age);
    }

    [Theory]
    [InlineData("If-None-Match: \"v2\"")]
    [InlineData("If-Modified-Since: Sun, 12 Jan 2025 10:00:00 GMT")]
    // RFC 9110 §13.1.3: "A recipient MUST ignore If-Modified-Since if the request contains an If-None-Match header field"
    [InlineData("If-None-Match: \"v2\"", "If-Modified-Since: Tue, 14 Jan 2025 10:00:00 GMT")]
    public async Task Rfc9111_4_3_2_A_condition_that_fails_gets_the_full_stored_answer(params string[] conditions)
    {
        await using var cache = CacheHarness.Create();
        var path = MapFresh();
        await cache.GetAsync(origin.Url(path));

        var answer = await cache.GetAsync(origin.Url(path), null, conditions);

        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(200, answer.Status);
        Assert.Equal("stored body", answer.Body);
        Assert.True(answer.Info.FromCache);
    }

    [Fact]
    public async Task Rfc9111_4_3_2_A_stale_stored_answer_lets_the_callers_condition_reach_the_origin()
    {
        await using var cache = CacheHarness.Create();
        var path = MapFresh();
        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromSeconds(61));

        var answer = await cache.GetAsync(origin.Url(path), null, "If-None-Match: \"mine\"");

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("\"mine\"", origin.LastRequest(path)!.Headers["If-None-Match"]);
        Assert.Equal(CacheReason.BypassConditionalRequest, answer.Info.Reason);
        Assert.False(answer.Info.FromCache);
    }
}
