using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9110 §9.3.3: "Responses to POST requests are only cacheable when they include explicit freshness information
/// (see Section 4.2.1 of [CACHING]) and a Content-Location header field that has the same value as the POST's target
/// URI (Section 8.7). A cached POST response can be reused to satisfy a later GET or HEAD request."
/// </summary>
public sealed class PostAnswersGetTests
{
    private static readonly CacheSettings AllowingPost = CacheSettings.Default with
    {
        AllowedMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "POST" },
    };

    [Theory]
    [InlineData("POST", "Cache-Control: max-age=60", "Content-Location: " + Url, true)]
    [InlineData("POST", "Cache-Control: max-age=60", "Content-Location: /resource", true)]
    [InlineData("POST", "Cache-Control: max-age=60", "Content-Location: resource", true)]
    [InlineData("POST", "Expires: Wed, 15 Jan 2025 12:01:00 GMT", "Content-Location: /resource", true)]
    [InlineData("POST", "Cache-Control: max-age=60", "Content-Location: /other", false)]
    [InlineData("POST", "Cache-Control: max-age=60", "X-None: 1", false)]
    [InlineData("POST", "Cache-Control: max-age=0", "Content-Location: /resource", false)]
    [InlineData("POST", "X-None: 1", "Content-Location: /resource", false)]
    [InlineData("PUT", "Cache-Control: max-age=60", "Content-Location: /resource", false)]
    public void Rfc9110_9_3_3_A_POST_answer_is_the_targets_representation_only_with_freshness_and_Content_Location(string method, string freshness, string location, bool answersGet)
    {
        using var request = Request(new HttpMethod(method));
        using var response = Response("Date: Wed, 15 Jan 2025 12:00:00 GMT", freshness, location);

        Assert.Equal(answersGet, CachePolicy.PostAnswersGet(request, response, AllowingPost, Now));
    }

    [Fact]
    public void Only_when_the_session_stores_POST()
    {
        using var request = Request(HttpMethod.Post);
        using var response = Response("Cache-Control: max-age=60", "Content-Location: /resource");

        Assert.False(CachePolicy.PostAnswersGet(request, response, CacheSettings.Default, Now));
    }
}
