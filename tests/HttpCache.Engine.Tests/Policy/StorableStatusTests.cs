using System.Net;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9111 §3: "A cache MUST NOT store a response to a request unless: ... the response status code is
/// final ... and the response contains at least one of the following: a public response directive; a private
/// response directive, if the cache is not shared; an Expires header field; a max-age response directive; if the
/// cache is shared: an s-maxage response directive; ... a status code that is defined as heuristically cacheable."
/// </summary>
public sealed class StorableStatusTests
{
    private static StoreDecision Decide(HttpStatusCode status, CacheSettings? settings = null, params string[] headers)
    {
        using var request = Request();
        using var response = Response(status, headers);
        return CachePolicy.Store(request, response, settings ?? CacheSettings.Default, CacheRequestOptions.Default, Now, Now);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(410)]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(400)]
    [InlineData(418)]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(599)]
    [InlineData(299)]
    public void Rfc9111_3_Any_final_status_with_max_age_is_stored_for_its_lifetime(int status)
    {
        var decision = Decide((HttpStatusCode)status, null, "Cache-Control: max-age=60");

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(60), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_3_An_Expires_is_explicit_freshness_too()
    {
        var decision = Decide(HttpStatusCode.Gone, null, "Date: Wed, 15 Jan 2025 12:00:00 GMT", "Expires: Wed, 15 Jan 2025 12:01:00 GMT");

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(60), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_3_s_maxage_is_explicit_freshness_in_a_shared_cache_only()
    {
        var shared = CacheSettings.Default with { Shared = true };

        Assert.Equal(Now + Seconds(60), Decide(HttpStatusCode.NotFound, shared, "Cache-Control: s-maxage=60").ExpiresAt);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(HttpStatusCode.NotFound, null, "Cache-Control: s-maxage=60").Reason);
    }

    [Theory]
    [InlineData(206)]
    [InlineData(304)]
    public void Rfc9111_3_Partial_and_not_modified_answers_are_never_stored_as_answers(int status)
    {
        // 206 answers are parts of a representation (§3.3); a 304 updates a stored answer (§4.3.4).
        Assert.Equal(CacheReason.NotStorableStatus, Decide((HttpStatusCode)status, null, "Cache-Control: max-age=60").Reason);
    }

    [Fact]
    public void AllowedStatusCodes_still_decides_without_explicit_freshness()
    {
        Assert.Equal(CacheReason.NotStorableStatus, Decide(HttpStatusCode.NotFound).Reason);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(HttpStatusCode.NotFound, null, "Cache-Control: public").Reason);
        var allowing404 = CacheSettings.Default with { AllowedStatusCodes = new HashSet<int> { 200, 404 } };
        Assert.True(Decide(HttpStatusCode.NotFound, allowing404).Store);
    }

    [Fact]
    public void The_origins_freshness_counts_only_while_the_session_honours_Cache_Control()
    {
        var ignoring = CacheSettings.Default with { CacheControl = false };

        Assert.Equal(CacheReason.NotStorableStatus, Decide(HttpStatusCode.NotFound, ignoring, "Cache-Control: max-age=60").Reason);
    }
}
