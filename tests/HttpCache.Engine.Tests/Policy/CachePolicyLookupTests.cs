using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// <see cref="CachePolicy.Lookup"/>: what to do with a request given the stored variant. Rows give the
/// request's headers ('|' between lines), the stored answer's expiry relative to now (seconds; negative is
/// stale), its validator ("etag", "lm", "" for none) and the expected action and reason.
/// </summary>
public sealed class CachePolicyLookupTests
{
    private const string ETag = "ETag: \"v1\"";
    private const string LastModified = "Last-Modified: Mon, 13 Jan 2025 10:00:00 GMT";

    private static LookupDecision Decide(string requestHeaders, StoredResponse? stored, CacheMode mode = CacheMode.Default, CacheSettings? settings = null)
    {
        using var request = Request(requestHeaders.Split('|', StringSplitOptions.RemoveEmptyEntries));
        return CachePolicy.Lookup(request, stored, settings ?? CacheSettings.Default, new CacheRequestOptions { Mode = mode }, Now);
    }

    private static string[] Validator(string validator, params string[] more) => validator switch
    {
        "etag" => [ETag, .. more],
        "lm" => [LastModified, .. more],
        "both" => [ETag, LastModified, .. more],
        _ => more,
    };

    private static StoredResponse StoredFor(int? expiresInSeconds, string validator, params string[] more) =>
        Stored(expiresInSeconds is { } s ? Seconds(s) : null, headers: Validator(validator, more));

    private static void AssertDecision(LookupDecision decision, LookupAction action, CacheReason reason, bool? expired = null)
    {
        Assert.Equal(action, decision.Action);
        Assert.Equal(reason, decision.Reason);
        if (expired is { } e)
        {
            Assert.Equal(e, decision.IsExpired);
        }
    }

    [Fact]
    public void Nothing_stored_is_a_miss()
    {
        AssertDecision(Decide("", null), LookupAction.Fetch, CacheReason.MissNoEntry, expired: false);
    }

    [Theory]
    [InlineData(3600, "etag", LookupAction.Serve, CacheReason.FreshHit, false)]
    [InlineData(1, "", LookupAction.Serve, CacheReason.FreshHit, false)]
    [InlineData(0, "etag", LookupAction.Revalidate, CacheReason.StaleRevalidating, true)]
    [InlineData(-1, "etag", LookupAction.Revalidate, CacheReason.StaleRevalidating, true)]
    [InlineData(-1, "lm", LookupAction.Revalidate, CacheReason.StaleRevalidating, true)]
    [InlineData(-1, "both", LookupAction.Revalidate, CacheReason.StaleRevalidating, true)]
    [InlineData(-3600, "", LookupAction.Fetch, CacheReason.MissExpired, true)]
    public void Rfc9111_4_2_Fresh_is_served_stale_is_validated_or_fetched(int expiresIn, string validator, LookupAction action, CacheReason reason, bool expired)
    {
        AssertDecision(Decide("", StoredFor(expiresIn, validator)), action, reason, expired);
    }

    [Fact]
    public void Rfc9111_4_2_NeverExpiring_IsFreshAtAnyAge()
    {
        var stored = Stored(expiresIn: null, receivedAgo: TimeSpan.FromDays(3650));

        var decision = Decide("", stored);

        AssertDecision(decision, LookupAction.Serve, CacheReason.FreshHit, expired: false);
        Assert.Equal(TimeSpan.FromDays(3650), decision.Age);
    }

    [Fact]
    public void Rfc9111_4_2_3_The_decision_carries_the_current_age()
    {
        var stored = Stored(Seconds(60), receivedAgo: Seconds(60), initialAge: Seconds(5));

        Assert.Equal(Seconds(65), Decide("", stored).Age);
    }

    [Theory]
    [InlineData("Cache-Control: no-cache", "etag", LookupAction.Revalidate)]
    [InlineData("Cache-Control: no-cache", "lm", LookupAction.Revalidate)]
    [InlineData("Cache-Control: no-cache", "", LookupAction.Fetch)]
    [InlineData("Cache-Control: max-age=3600, no-cache", "etag", LookupAction.Revalidate)]
    public void Rfc9111_5_2_1_4_RequestNoCache_Revalidates(string headers, string validator, LookupAction action)
    {
        AssertDecision(Decide(headers, StoredFor(3600, validator)), action, CacheReason.RequestNoCache, expired: false);
    }

    [Theory]
    [InlineData("Pragma: no-cache", LookupAction.Revalidate, CacheReason.RequestNoCache)]
    [InlineData("Pragma: no-cache|Cache-Control: max-stale", LookupAction.Serve, CacheReason.FreshHit)]
    [InlineData("Pragma: no-cache|Cache-Control: max-age=3600", LookupAction.Serve, CacheReason.FreshHit)]
    [InlineData("Pragma: x-other", LookupAction.Serve, CacheReason.FreshHit)]
    public void Rfc9111_5_4_PragmaNoCache_counts_only_without_CacheControl(string headers, LookupAction action, CacheReason reason)
    {
        AssertDecision(Decide(headers, StoredFor(3600, "etag")), action, reason);
    }

    [Theory]
    [InlineData("max-age=0", LookupAction.Revalidate, CacheReason.RequestMaxAge)]
    [InlineData("max-age=59", LookupAction.Revalidate, CacheReason.RequestMaxAge)]
    [InlineData("max-age=60", LookupAction.Serve, CacheReason.FreshHit)]
    [InlineData("max-age=3600", LookupAction.Serve, CacheReason.FreshHit)]
    public void Rfc9111_5_2_1_1_RequestMaxAge_refuses_older_answers(string directive, LookupAction action, CacheReason reason)
    {
        // Received 60 s ago: current_age is 60 s; the entry itself stays fresh for an hour.
        var stored = Stored(Seconds(3600), receivedAgo: Seconds(60), headers: [ETag]);

        AssertDecision(Decide("Cache-Control: " + directive, stored), action, reason, expired: false);
    }

    [Fact]
    public void Rfc9111_5_2_1_1_RequestMaxAge_counts_the_initial_age()
    {
        var stored = Stored(Seconds(3600), receivedAgo: Seconds(20), headers: [ETag], initialAge: Seconds(50));

        AssertDecision(Decide("Cache-Control: max-age=60", stored), LookupAction.Revalidate, CacheReason.RequestMaxAge);
    }

    [Fact]
    public void Rfc9111_5_2_1_1_RequestMaxAge_without_validator_fetches()
    {
        var stored = Stored(Seconds(3600), receivedAgo: Seconds(60));

        AssertDecision(Decide("Cache-Control: max-age=10", stored), LookupAction.Fetch, CacheReason.RequestMaxAge);
    }

    [Theory]
    [InlineData(30, "min-fresh=60", LookupAction.Revalidate, CacheReason.RequestMinFresh)]
    [InlineData(30, "min-fresh=31", LookupAction.Revalidate, CacheReason.RequestMinFresh)]
    [InlineData(30, "min-fresh=30", LookupAction.Serve, CacheReason.FreshHit)]
    [InlineData(30, "min-fresh=10", LookupAction.Serve, CacheReason.FreshHit)]
    [InlineData(null, "min-fresh=999999", LookupAction.Serve, CacheReason.FreshHit)]
    public void Rfc9111_5_2_1_3_MinFresh_wants_answers_that_stay_fresh(int? expiresIn, string directive, LookupAction action, CacheReason reason)
    {
        AssertDecision(Decide("Cache-Control: " + directive, StoredFor(expiresIn, "etag")), action, reason, expired: false);
    }

    [Theory]
    [InlineData("max-stale", -86400, LookupAction.Serve, CacheReason.StaleHitMaxStale)]
    [InlineData("max-stale=60", -30, LookupAction.Serve, CacheReason.StaleHitMaxStale)]
    [InlineData("max-stale=30", -30, LookupAction.Serve, CacheReason.StaleHitMaxStale)]
    [InlineData("max-stale=29", -30, LookupAction.Revalidate, CacheReason.StaleRevalidating)]
    [InlineData("max-stale=0", -30, LookupAction.Revalidate, CacheReason.StaleRevalidating)]
    public void Rfc9111_5_2_1_2_MaxStale_serves_stale_within_its_limit(string directive, int expiresIn, LookupAction action, CacheReason reason)
    {
        AssertDecision(Decide("Cache-Control: " + directive, StoredFor(expiresIn, "etag")), action, reason, expired: true);
    }

    [Fact]
    public void Rfc9111_5_2_1_2_MaxStale_on_a_fresh_answer_is_a_plain_fresh_hit()
    {
        AssertDecision(Decide("Cache-Control: max-stale", StoredFor(60, "etag")), LookupAction.Serve, CacheReason.FreshHit, expired: false);
    }

    [Theory]
    [InlineData("Cache-Control: must-revalidate", false, LookupAction.Revalidate)]
    [InlineData("Cache-Control: max-age=10, must-revalidate", false, LookupAction.Revalidate)]
    [InlineData("Cache-Control: no-cache", false, LookupAction.Revalidate)]
    [InlineData("Cache-Control: proxy-revalidate", true, LookupAction.Revalidate)]
    [InlineData("Cache-Control: proxy-revalidate", false, LookupAction.Serve)]
    [InlineData("Cache-Control: max-age=10", true, LookupAction.Serve)]
    public void Rfc9111_5_2_2_2_MustRevalidate_forbids_MaxStale(string storedHeader, bool shared, LookupAction action)
    {
        var stored = StoredFor(-30, "etag", storedHeader);

        var decision = Decide("Cache-Control: max-stale", stored, settings: CacheSettings.Default with { Shared = shared });

        Assert.Equal(action, decision.Action);
        Assert.True(decision.IsExpired);
    }

    [Theory]
    [InlineData(3600, "etag", LookupAction.Revalidate, false)]
    [InlineData(3600, "lm", LookupAction.Revalidate, false)]
    [InlineData(3600, "", LookupAction.Fetch, false)]
    [InlineData(-60, "etag", LookupAction.Revalidate, true)]
    [InlineData(null, "etag", LookupAction.Revalidate, false)]
    public void Refresh_revalidates_even_a_fresh_answer(int? expiresIn, string validator, LookupAction action, bool expired)
    {
        AssertDecision(Decide("", StoredFor(expiresIn, validator), CacheMode.Refresh), action, CacheReason.RefreshRequested, expired);
    }

    [Theory]
    [InlineData(3600, "")]
    [InlineData(-60, "etag")]
    [InlineData(null, "etag")]
    public void ForceRefresh_fetches_whatever_is_stored(int? expiresIn, string validator)
    {
        AssertDecision(Decide("", StoredFor(expiresIn, validator), CacheMode.ForceRefresh), LookupAction.Fetch, CacheReason.RefreshForced);
    }

    [Fact]
    public void ForceRefresh_with_nothing_stored_fetches()
    {
        AssertDecision(Decide("", null, CacheMode.ForceRefresh), LookupAction.Fetch, CacheReason.RefreshForced);
    }

    [Fact]
    public void ForceRefresh_wins_over_an_only_if_cached_directive()
    {
        AssertDecision(Decide("Cache-Control: only-if-cached", StoredFor(-60, "etag"), CacheMode.ForceRefresh), LookupAction.Fetch, CacheReason.RefreshForced);
    }

    public static TheoryData<string, CacheMode, int?, bool, LookupAction, CacheReason> OnlyIfCachedCases => new()
    {
        // request headers, mode, expires in (null: nothing stored), stored never expires, action, reason
        { "", CacheMode.OnlyIfCached, null, false, LookupAction.NotCached, CacheReason.OnlyIfCachedMiss },
        { "", CacheMode.OnlyIfCached, -60, false, LookupAction.NotCached, CacheReason.OnlyIfCachedStale },
        { "", CacheMode.OnlyIfCached, 60, false, LookupAction.Serve, CacheReason.FreshHit },
        { "", CacheMode.OnlyIfCached, null, true, LookupAction.Serve, CacheReason.FreshHit },
        { "Cache-Control: max-stale", CacheMode.OnlyIfCached, -60, false, LookupAction.Serve, CacheReason.StaleHitMaxStale },
        { "Cache-Control: no-cache", CacheMode.OnlyIfCached, 60, false, LookupAction.NotCached, CacheReason.OnlyIfCachedStale },
        { "Cache-Control: only-if-cached", CacheMode.Default, null, false, LookupAction.NotCached, CacheReason.OnlyIfCachedMiss },
        { "Cache-Control: only-if-cached", CacheMode.Default, -60, false, LookupAction.NotCached, CacheReason.OnlyIfCachedStale },
        { "Cache-Control: only-if-cached", CacheMode.Default, 60, false, LookupAction.Serve, CacheReason.FreshHit },
        { "Cache-Control: only-if-cached, max-stale=120", CacheMode.Default, -60, false, LookupAction.Serve, CacheReason.StaleHitMaxStale },
    };

    [Theory]
    [MemberData(nameof(OnlyIfCachedCases))]
    public void Rfc9111_5_2_1_7_OnlyIfCached_never_contacts_the_origin(string headers, CacheMode mode, int? expiresIn, bool neverExpires, LookupAction action, CacheReason reason)
    {
        var stored = neverExpires ? StoredFor(null, "etag") : expiresIn is null ? null : StoredFor(expiresIn, "etag");

        AssertDecision(Decide(headers, stored, mode), action, reason);
    }
}
