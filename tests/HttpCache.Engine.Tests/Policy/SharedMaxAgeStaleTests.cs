using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9111 §5.2.2.10: "The s-maxage directive incorporates the semantics of the proxy-revalidate response
/// directive (Section 5.2.2.8) for a shared cache."
/// </summary>
public sealed class SharedMaxAgeStaleTests
{
    [Theory]
    [InlineData(true, "s-maxage=60", false)]
    [InlineData(false, "s-maxage=60", true)]
    [InlineData(true, "max-age=60", true)]
    public void Rfc9111_5_2_2_10_s_maxage_forbids_stale_use_in_a_shared_cache(bool shared, string cacheControl, bool staleServed)
    {
        var settings = CacheSettings.Default with { Shared = shared };
        var stored = Stored(Seconds(-30), headers: ["Cache-Control: " + cacheControl + ", stale-while-revalidate=600, stale-if-error=600"]);
        using var request = Request("Cache-Control: max-stale");

        Assert.Equal(staleServed, CachePolicy.Lookup(request, stored, settings, CacheRequestOptions.Default, Now).Action == LookupAction.Serve);
        Assert.Equal(staleServed, CachePolicy.StaleIfErrorAllowed(stored, request, settings, Now));
        Assert.Equal(staleServed, CachePolicy.StaleWhileRevalidateAllowed(stored, request, settings, Now));
    }
}
