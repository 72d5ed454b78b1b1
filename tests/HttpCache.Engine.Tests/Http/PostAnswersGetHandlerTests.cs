using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// RFC 9110 §9.3.3 against a real Kestrel origin: "A cached POST response can be reused to satisfy a later GET or
/// HEAD request."
/// </summary>
public sealed class PostAnswersGetHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly CacheSettings AllowingPost = CacheSettings.Default with
    {
        AllowedMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "POST" },
    };

    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task Rfc9110_9_3_3_A_fresh_POST_answer_whose_Content_Location_is_its_target_answers_a_later_GET(bool withContentLocation, bool reused)
    {
        await using var cache = CacheHarness.Create(settings: AllowingPost);
        var path = origin.NewPath("post-get");
        var headers = new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" };
        if (withContentLocation)
        {
            headers["Content-Location"] = path;
        }

        origin.Map(path, OriginBehaviors.Counter(headers));

        var post = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "create");
        var get = await cache.GetAsync(origin.Url(path));

        Assert.Equal("1", post.Body);
        Assert.Equal(reused, get.Info.FromCache);
        Assert.Equal(reused ? "1" : "2", get.Body);
        Assert.Equal(reused ? ["POST"] : ["POST", "GET"], origin.Requests(path).Select(r => r.Method));
    }

    [Fact]
    public async Task Without_POST_in_the_session_nothing_is_stored_for_GET()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("post-get-off");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=60", ["Content-Location"] = path }));

        await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "create");
        var get = await cache.GetAsync(origin.Url(path));

        Assert.False(get.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }
}
