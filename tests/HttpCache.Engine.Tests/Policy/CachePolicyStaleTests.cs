using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>Serving stale (RFC 5861, RFC 9111 §4.2.4) and revalidating always (RFC 8246 immutable).</summary>
public sealed class CachePolicyStaleTests
{
    private const string ETag = "ETag: \"v1\"";

    private static LookupDecision Decide(StoredResponse stored, CacheSettings settings, CacheMode mode = CacheMode.Default, params string[] requestHeaders)
    {
        using var request = Request(requestHeaders);
        return CachePolicy.Lookup(request, stored, settings, new CacheRequestOptions { Mode = mode }, Now);
    }

    private static StoredResponse StaleBy(int seconds, params string[] headers) => Stored(Seconds(-seconds), headers: [ETag, .. headers]);

    [Theory]
    [InlineData(30, 60, LookupAction.ServeAndRefresh, CacheReason.StaleWhileRevalidate)]
    [InlineData(60, 60, LookupAction.ServeAndRefresh, CacheReason.StaleWhileRevalidate)]
    [InlineData(61, 60, LookupAction.Revalidate, CacheReason.StaleRevalidating)]
    public void Rfc5861_3_Session_StaleWhileRevalidate_serves_stale_within_its_window(int staleSeconds, int window, LookupAction action, CacheReason reason)
    {
        var decision = Decide(StaleBy(staleSeconds), CacheSettings.Default with { StaleWhileRevalidate = Seconds(window) });

        Assert.Equal(action, decision.Action);
        Assert.Equal(reason, decision.Reason);
        Assert.True(decision.IsExpired);
    }

    [Theory]
    [InlineData("Cache-Control: max-age=10, stale-while-revalidate=120", 60, LookupAction.ServeAndRefresh)]
    [InlineData("Cache-Control: max-age=10, stale-while-revalidate=30", 60, LookupAction.Revalidate)]
    [InlineData("Cache-Control: max-age=10, stale-while-revalidate=120, must-revalidate", 60, LookupAction.Revalidate)]
    [InlineData("Cache-Control: no-cache, stale-while-revalidate=120", 60, LookupAction.Revalidate)]
    [InlineData("Cache-Control: max-age=10", 60, LookupAction.Revalidate)]
    public void Rfc5861_3_The_answers_own_stale_while_revalidate(string storedControl, int staleSeconds, LookupAction action)
    {
        Assert.Equal(action, Decide(StaleBy(staleSeconds, storedControl), CacheSettings.Default).Action);
    }

    [Fact]
    public void Rfc5861_3_Stale_while_revalidate_without_validator_still_serves_and_refreshes()
    {
        var stored = Stored(Seconds(-5));

        var decision = Decide(stored, CacheSettings.Default with { StaleWhileRevalidate = Seconds(60) });

        Assert.Equal(LookupAction.ServeAndRefresh, decision.Action);
    }

    [Theory]
    [InlineData("Cache-Control: no-cache")]
    [InlineData("Cache-Control: max-age=0")]
    public void Rfc5861_3_A_request_that_demands_validation_is_not_served_stale(string header)
    {
        var decision = Decide(StaleBy(5), CacheSettings.Default with { StaleWhileRevalidate = Seconds(60) }, CacheMode.Default, header);

        Assert.Equal(LookupAction.Revalidate, decision.Action);
    }

    [Fact]
    public void Rfc5861_3_Refresh_is_not_served_stale()
    {
        var decision = Decide(StaleBy(5), CacheSettings.Default with { StaleWhileRevalidate = Seconds(60) }, CacheMode.Refresh);

        Assert.Equal(LookupAction.Revalidate, decision.Action);
        Assert.Equal(CacheReason.RefreshRequested, decision.Reason);
    }

    public static TheoryData<string, TimeSpan?, string?, string?, int, bool> StaleIfErrorCases => new()
    {
        // name, session window, stored Cache-Control, request Cache-Control, seconds stale (negative: fresh), allowed
        { "no window anywhere", null, null, null, 10, false },
        { "no window, even fresh", null, null, null, -10, false },
        { "session window, within", Seconds(60), null, null, 59, true },
        { "session window, at its edge", Seconds(60), null, null, 60, true },
        { "session window, past it", Seconds(60), null, null, 61, false },
        { "session window, fresh", Seconds(60), null, null, -10, true },
        { "session any staleness", TimeSpan.MaxValue, null, null, 86400 * 365, true },
        { "answer's stale-if-error", null, "max-age=10, stale-if-error=300", null, 200, true },
        { "answer's stale-if-error, past it", null, "max-age=10, stale-if-error=300", null, 301, false },
        { "request's stale-if-error", null, null, "stale-if-error=300", 200, true },
        { "the larger window wins", Seconds(10), "stale-if-error=300", null, 200, true },
        { "must-revalidate forbids it", Seconds(600), "max-age=10, must-revalidate", null, 5, false },
        { "no-cache forbids it", Seconds(600), "no-cache", null, 5, false },
    };

    [Theory]
    [MemberData(nameof(StaleIfErrorCases))]
    public void Rfc5861_4_StaleIfErrorAllowed(string name, TimeSpan? sessionWindow, string? storedControl, string? requestControl, int staleSeconds, bool allowed)
    {
        var stored = Stored(Seconds(-staleSeconds), headers: storedControl is null ? [] : ["Cache-Control: " + storedControl]);
        using var request = requestControl is null ? Request() : Request("Cache-Control: " + requestControl);

        var result = CachePolicy.StaleIfErrorAllowed(stored, request, CacheSettings.Default with { StaleIfError = sessionWindow }, Now);

        // The name rides along so a failure says which case it was.
        Assert.Equal((name, allowed), (name, result));
    }

    [Fact]
    public void Rfc5861_4_Stale_if_error_on_a_never_expiring_answer_is_allowed_once_any_window_exists()
    {
        var stored = Stored(expiresIn: null);
        using var request = Request();

        Assert.True(CachePolicy.StaleIfErrorAllowed(stored, request, CacheSettings.Default with { StaleIfError = Seconds(1) }, Now));
        Assert.False(CachePolicy.StaleIfErrorAllowed(stored, request, CacheSettings.Default, Now));
    }

    [Theory]
    [InlineData(30, true)]
    [InlineData(120, false)]
    public void OnlyIfCached_serves_what_a_stale_window_allows(int staleSeconds, bool served)
    {
        var settings = CacheSettings.Default with { StaleIfError = Seconds(60) };

        var decision = Decide(StaleBy(staleSeconds), settings, CacheMode.OnlyIfCached);

        Assert.Equal(served ? LookupAction.Serve : LookupAction.NotCached, decision.Action);
        Assert.Equal(served ? CacheReason.StaleHitOnlyIfCached : CacheReason.OnlyIfCachedStale, decision.Reason);
        Assert.True(decision.IsExpired);
    }

    [Fact]
    public void OnlyIfCached_serves_within_a_stale_while_revalidate_window_without_refreshing()
    {
        var decision = Decide(StaleBy(30, "Cache-Control: max-age=1, stale-while-revalidate=60"), CacheSettings.Default, CacheMode.OnlyIfCached);

        Assert.Equal(LookupAction.Serve, decision.Action);
        Assert.Equal(CacheReason.StaleHitOnlyIfCached, decision.Reason);
    }

    [Theory]
    [InlineData("Cache-Control: max-age=3600", LookupAction.Revalidate, CacheReason.AlwaysRevalidate)]
    [InlineData("Cache-Control: max-age=3600, immutable", LookupAction.Serve, CacheReason.FreshHit)]
    public void Rfc8246_AlwaysRevalidate_spares_only_fresh_immutable_answers(string storedControl, LookupAction action, CacheReason reason)
    {
        var decision = Decide(Stored(Seconds(3600), headers: [ETag, storedControl]), CacheSettings.Default with { AlwaysRevalidate = true });

        Assert.Equal(action, decision.Action);
        Assert.Equal(reason, decision.Reason);
    }

    [Fact]
    public void Rfc8246_Refresh_revalidates_even_an_immutable_answer()
    {
        var decision = Decide(Stored(Seconds(3600), headers: [ETag, "Cache-Control: immutable"]), CacheSettings.Default with { AlwaysRevalidate = true }, CacheMode.Refresh);

        Assert.Equal(LookupAction.Revalidate, decision.Action);
    }

    [Fact]
    public void AlwaysRevalidate_of_a_stale_answer_is_the_ordinary_revalidation()
    {
        var decision = Decide(StaleBy(5), CacheSettings.Default with { AlwaysRevalidate = true });

        Assert.Equal(CacheReason.StaleRevalidating, decision.Reason);
    }

    [Fact]
    public void AlwaysRevalidate_without_a_validator_fetches()
    {
        var decision = Decide(Stored(Seconds(3600)), CacheSettings.Default with { AlwaysRevalidate = true });

        Assert.Equal(LookupAction.Fetch, decision.Action);
        Assert.Equal(CacheReason.AlwaysRevalidate, decision.Reason);
    }
}
