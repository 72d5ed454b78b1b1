using System.Net;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>must-understand (RFC 9111 §5.2.2.3) and immutable (RFC 8246).</summary>
public sealed class MustUnderstandImmutableTests
{
    private static StoreDecision Store(HttpStatusCode status, string cacheControl)
    {
        using var request = Request();
        using var response = Response(status, "Cache-Control: " + cacheControl);
        return CachePolicy.Store(request, response, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);
    }

    // §5.2.2.3: "When the must-understand directive is present, ... a cache MUST NOT store the response if it does
    // not understand the status code ... [it] is intended to be used along with the no-store directive as a
    // fallback: when a cache understands the status code, it ignores no-store".
    [Theory]
    [InlineData(200, "max-age=60, no-store, must-understand", true)]
    [InlineData(404, "max-age=60, no-store, must-understand", true)]
    [InlineData(301, "no-store, must-understand, max-age=60", true)]
    [InlineData(299, "max-age=60, no-store, must-understand", false)]
    [InlineData(299, "max-age=60, must-understand", false)]
    [InlineData(200, "max-age=60, no-store", false)]
    public void Rfc9111_5_2_2_3_must_understand_with_an_understood_status_overrides_no_store(int status, string cacheControl, bool stored)
    {
        Assert.Equal(stored, Store((HttpStatusCode)status, cacheControl).Store);
    }

    [Fact]
    public void Rfc9111_5_2_2_3_must_understand_does_not_override_the_requests_no_store()
    {
        using var request = Request("Cache-Control: no-store");
        using var response = Response("Cache-Control: max-age=60, no-store, must-understand");

        Assert.Equal(CacheReason.NotStorableRequestNoStore, CachePolicy.Store(request, response, CacheSettings.Default, CacheRequestOptions.Default, Now, Now).Reason);
    }

    // RFC 8246 §2: "clients SHOULD NOT issue a conditional request during the response's freshness lifetime (e.g.,
    // upon a reload) unless explicitly overridden by the user (e.g., a force reload)."
    [Theory]
    [InlineData("immutable, max-age=3600", 600, "max-age=0", LookupAction.Serve)]
    [InlineData("immutable, max-age=3600", 600, "max-age=10", LookupAction.Serve)]
    [InlineData("max-age=3600", 600, "max-age=0", LookupAction.Revalidate)]
    [InlineData("immutable, max-age=3600", -1, "max-age=0", LookupAction.Revalidate)]
    [InlineData("immutable, max-age=3600", 600, "no-cache", LookupAction.Revalidate)]
    public void Rfc8246_2_A_fresh_immutable_answer_is_not_revalidated_on_a_reload(string cacheControl, int freshForSeconds, string requestControl, LookupAction action)
    {
        var stored = Stored(Seconds(freshForSeconds), headers: ["Cache-Control: " + cacheControl, "ETag: \"v1\""]);
        using var request = Request("Cache-Control: " + requestControl);

        Assert.Equal(action, CachePolicy.Lookup(request, stored, CacheSettings.Default, CacheRequestOptions.Default, Now).Action);
    }
}
