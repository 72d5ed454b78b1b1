using System.Net;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary><see cref="CachePolicy.Store"/>: whether an origin answer is stored, and until when it is fresh.</summary>
public sealed class CachePolicyStoreTests
{
    private static readonly DateTimeOffset Sent = Now - Seconds(1);

    private static StoreDecision Decide(
        HttpRequestMessage request,
        HttpResponseMessage response,
        CacheSettings? settings = null,
        Expiration? perRequest = null)
    {
        using (request)
        using (response)
        {
            // No response delay unless a test asks for one: request and response time are both Now.
            return CachePolicy.Store(request, response, settings ?? CacheSettings.Default, new CacheRequestOptions { ExpireAfter = perRequest }, Now, Now);
        }
    }

    private static string Date(DateTimeOffset at) => "Date: " + at.ToString("r", System.Globalization.CultureInfo.InvariantCulture);

    private static string Expires(DateTimeOffset at) => "Expires: " + at.ToString("r", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void A_plain_200_is_stored_with_the_session_lifetime()
    {
        var decision = Decide(Request(), Response());

        Assert.True(decision.Store);
        Assert.Equal(CacheReason.Stored, decision.Reason);
        Assert.Null(decision.ExpiresAt); // the default session lifetime is NeverExpire
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, true)]
    [InlineData(HttpStatusCode.NonAuthoritativeInformation, true)]
    [InlineData(HttpStatusCode.MultipleChoices, true)]
    [InlineData(HttpStatusCode.MovedPermanently, true)]
    [InlineData(HttpStatusCode.PermanentRedirect, true)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.PartialContent, false)]
    [InlineData(HttpStatusCode.NotModified, false)]
    [InlineData(HttpStatusCode.InternalServerError, false)]
    [InlineData(HttpStatusCode.ServiceUnavailable, false)]
    public void Rfc9111_3_Only_allowed_statuses_are_stored_without_explicit_freshness(HttpStatusCode status, bool stored)
    {
        // With explicit freshness any final status but 206 and 304 is storable: StorableStatusTests.
        var decision = Decide(Request(), Response(status));

        Assert.Equal(stored, decision.Store);
        Assert.Equal(stored ? CacheReason.Stored : CacheReason.NotStorableStatus, decision.Reason);
    }

    [Fact]
    public void Allowed_statuses_come_from_the_settings()
    {
        var settings = CacheSettings.Default with { AllowedStatusCodes = new HashSet<int> { 404 } };

        Assert.True(Decide(Request(), Response(HttpStatusCode.NotFound), settings).Store);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(Request(), Response(HttpStatusCode.OK), settings).Reason);
    }

    [Theory]
    [InlineData("GET", true)]
    [InlineData("HEAD", true)]
    [InlineData("POST", false)]
    [InlineData("PUT", false)]
    [InlineData("DELETE", false)]
    public void Rfc9111_3_Only_allowed_methods_are_stored(string method, bool stored)
    {
        var decision = Decide(Request(new HttpMethod(method)), Response());

        Assert.Equal(stored, decision.Store);
        Assert.Equal(stored ? CacheReason.Stored : CacheReason.NotStorableMethod, decision.Reason);
    }

    [Fact]
    public void Allowed_methods_come_from_the_settings()
    {
        var settings = CacheSettings.Default with { AllowedMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "POST" } };

        Assert.True(Decide(Request(HttpMethod.Post), Response(), settings).Store);
        Assert.Equal(CacheReason.NotStorableMethod, Decide(Request(HttpMethod.Head), Response(), settings).Reason);
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("max-age=60, no-store")]
    [InlineData("no-store, public")]
    public void Rfc9111_5_2_2_5_ResponseNoStore_is_not_stored(string cacheControl)
    {
        var decision = Decide(Request(), Response("Cache-Control: " + cacheControl));

        Assert.False(decision.Store);
        Assert.Equal(CacheReason.NotStorableNoStore, decision.Reason);
    }

    [Fact]
    public void Rfc9111_5_2_1_5_RequestNoStore_is_not_stored()
    {
        var decision = Decide(Request("Cache-Control: no-store"), Response("Cache-Control: max-age=60"));

        Assert.False(decision.Store);
        Assert.Equal(CacheReason.NotStorableRequestNoStore, decision.Reason);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("Accept, *")]
    public void Rfc9111_4_1_VaryStar_is_not_stored(string vary)
    {
        var decision = Decide(Request(), Response("Vary: " + vary, "Cache-Control: max-age=60"));

        Assert.False(decision.Store);
        Assert.Equal(CacheReason.NotStorableVaryStar, decision.Reason);
    }

    [Fact]
    public void Vary_on_named_headers_is_stored()
    {
        Assert.True(Decide(Request(), Response("Vary: Accept, Accept-Language")).Store);
    }

    [Theory]
    [InlineData(true, false, CacheReason.NotStorablePrivate)]
    [InlineData(false, true, CacheReason.Stored)]
    public void Rfc9111_5_2_2_7_Private_stays_out_of_a_shared_cache(bool shared, bool stored, CacheReason reason)
    {
        var decision = Decide(Request(), Response("Cache-Control: private, max-age=60"), CacheSettings.Default with { Shared = shared });

        Assert.Equal(stored, decision.Store);
        Assert.Equal(reason, decision.Reason);
    }

    [Theory]
    [InlineData(true, "max-age=60", false)]
    [InlineData(true, "", false)]
    [InlineData(true, "public, max-age=60", true)]
    [InlineData(true, "s-maxage=60", true)]
    [InlineData(true, "must-revalidate, max-age=60", true)]
    [InlineData(false, "max-age=60", true)]
    [InlineData(false, "", true)]
    public void Rfc9111_3_5_Authorization_answers_stay_out_of_a_shared_cache_unless_allowed(bool shared, string cacheControl, bool stored)
    {
        var response = cacheControl.Length == 0 ? Response() : Response("Cache-Control: " + cacheControl);

        var decision = Decide(Request("Authorization: Bearer abc"), response, CacheSettings.Default with { Shared = shared });

        Assert.Equal(stored, decision.Store);
        Assert.Equal(stored ? CacheReason.Stored : CacheReason.NotStorableAuthorization, decision.Reason);
    }

    [Fact]
    public void A_shared_cache_stores_an_unauthorized_request_normally()
    {
        Assert.True(Decide(Request(), Response("Cache-Control: max-age=60"), CacheSettings.Default with { Shared = true }).Store);
    }

    public static TheoryData<string, string?, string?, Expiration?, Expiration, double?> Precedence => new()
    {
        // name, response Cache-Control, request Cache-Control, per-request, session, fresh seconds (null: never expires)
        { "response max-age wins over everything", "max-age=100", "max-age=50", Expiration.After(Seconds(30)), Expiration.After(Seconds(10)), 100 },
        { "then request max-age", null, "max-age=50", Expiration.After(Seconds(30)), Expiration.After(Seconds(10)), 50 },
        { "then the per-request ExpireAfter", null, null, Expiration.After(Seconds(30)), Expiration.After(Seconds(10)), 30 },
        { "then the session ExpireAfter", null, null, null, Expiration.After(Seconds(10)), 10 },
        { "the default session lifetime never expires", null, null, null, Expiration.NeverExpire, null },
        { "per-request NeverExpire over a session lifetime", null, null, Expiration.NeverExpire, Expiration.After(Seconds(10)), null },
        { "per-request ExpireImmediately", null, null, Expiration.ExpireImmediately, Expiration.NeverExpire, 0 },
        { "request max-age=0 expires immediately", null, "max-age=0", null, Expiration.NeverExpire, 0 },
        { "response max-age=0", "max-age=0", null, null, Expiration.NeverExpire, 0 },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public void Expiration_precedence(string name, string? responseControl, string? requestControl, Expiration? perRequest, Expiration session, double? freshSeconds)
    {
        var request = requestControl is null ? Request() : Request("Cache-Control: " + requestControl);
        var response = responseControl is null ? Response() : Response("Cache-Control: " + responseControl);

        var decision = Decide(request, response, CacheSettings.Default with { ExpireAfter = session }, perRequest);

        Assert.True(decision.Store, name);
        Assert.Equal(freshSeconds is { } s ? Now + Seconds(s) : null, decision.ExpiresAt);
    }

    [Fact]
    public void A_per_request_At_is_the_instant_itself()
    {
        var at = Now.AddDays(2);

        Assert.Equal(at, Decide(Request(), Response(), perRequest: Expiration.At(at)).ExpiresAt);
    }

    [Fact]
    public void CacheControl_false_ignores_the_response_freshness()
    {
        var settings = CacheSettings.Default with { CacheControl = false, ExpireAfter = Expiration.After(Seconds(10)) };

        var decision = Decide(Request(), Response("Cache-Control: max-age=100", Expires(Now.AddHours(1))), settings);

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(10), decision.ExpiresAt);
    }

    [Fact]
    public void CacheControl_false_ignores_response_no_cache()
    {
        var settings = CacheSettings.Default with { CacheControl = false, ExpireAfter = Expiration.After(Seconds(10)) };

        Assert.Equal(Now + Seconds(10), Decide(Request(), Response("Cache-Control: no-cache"), settings).ExpiresAt);
    }

    [Theory]
    [InlineData(true, 200)]
    [InlineData(false, 100)]
    public void Rfc9111_5_2_2_10_SMaxAge_only_in_a_shared_cache(bool shared, int freshSeconds)
    {
        var decision = Decide(Request(), Response("Cache-Control: max-age=100, s-maxage=200"), CacheSettings.Default with { Shared = shared });

        Assert.Equal(Now + Seconds(freshSeconds), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_5_2_2_10_SMaxAge_alone_is_ignored_by_a_private_cache()
    {
        var settings = CacheSettings.Default with { ExpireAfter = Expiration.After(Seconds(7)) };

        Assert.Equal(Now + Seconds(7), Decide(Request(), Response("Cache-Control: s-maxage=200"), settings).ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_1_Expires_minus_Date_is_the_lifetime()
    {
        var date = Now - Seconds(10);

        var decision = Decide(Request(), Response(Date(date), Expires(date + Seconds(300))));

        // Lifetime 300 s, already 10 s old on arrival (apparent age): fresh until the Expires instant.
        Assert.True(decision.Store);
        Assert.Equal(Seconds(10), decision.InitialAge);
        Assert.Equal(date + Seconds(300), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_1_Expires_without_Date_counts_from_the_response_time()
    {
        Assert.Equal(Now + Seconds(300), Decide(Request(), Response(Expires(Now + Seconds(300)))).ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_1_MaxAge_wins_over_Expires()
    {
        var decision = Decide(Request(), Response("Cache-Control: max-age=60", Date(Now), Expires(Now.AddHours(1))));

        Assert.Equal(Now + Seconds(60), decision.ExpiresAt);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("soon")]
    public void Rfc9111_5_3_An_invalid_Expires_means_already_stale(string expires)
    {
        var settings = CacheSettings.Default with { ExpireAfter = Expiration.After(TimeSpan.FromDays(1)) };

        var decision = Decide(Request(), Response(Date(Now), "Expires: " + expires), settings);

        Assert.True(decision.Store);
        Assert.Equal(Now, decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_1_An_Expires_in_the_past_means_already_stale()
    {
        Assert.Equal(Now, Decide(Request(), Response(Date(Now), Expires(Now.AddHours(-1)))).ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_MaxAge_is_reduced_by_the_Age_the_answer_arrived_with()
    {
        var decision = Decide(Request(), Response("Cache-Control: max-age=60", "Age: 20"));

        Assert.Equal(Seconds(20), decision.InitialAge);
        Assert.Equal(Now + Seconds(40), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_MaxAge_older_than_its_lifetime_arrives_stale()
    {
        var decision = Decide(Request(), Response("Cache-Control: max-age=60", "Age: 600"));

        Assert.True(decision.Store);
        Assert.True(decision.ExpiresAt <= Now);
    }

    [Theory]
    [InlineData("no-cache")]
    [InlineData("no-cache, max-age=3600")]
    public void Rfc9111_5_2_2_4_ResponseNoCache_is_stored_but_stale_at_once(string cacheControl)
    {
        var decision = Decide(Request(), Response("Cache-Control: " + cacheControl), CacheSettings.Default with { ExpireAfter = Expiration.After(TimeSpan.FromDays(1)) });

        Assert.True(decision.Store);
        Assert.Equal(CacheReason.Stored, decision.Reason);
        Assert.Equal(Now, decision.ExpiresAt);
    }

    [Fact]
    public void Session_DoNotCache_is_not_stored()
    {
        var decision = Decide(Request(), Response(), CacheSettings.Default with { ExpireAfter = Expiration.DoNotCache });

        Assert.False(decision.Store);
        Assert.Equal(CacheReason.NotStorableDoNotCache, decision.Reason);
    }

    [Fact]
    public void Per_request_DoNotCache_is_not_stored()
    {
        var decision = Decide(Request(), Response(), perRequest: Expiration.DoNotCache);

        Assert.False(decision.Store);
        Assert.Equal(CacheReason.NotStorableDoNotCache, decision.Reason);
    }

    [Fact]
    public void Per_request_lifetime_overrides_a_session_DoNotCache()
    {
        var decision = Decide(Request(), Response(), CacheSettings.Default with { ExpireAfter = Expiration.DoNotCache }, Expiration.After(Seconds(5)));

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(5), decision.ExpiresAt);
    }

    [Fact]
    public void The_reasons_not_to_store_come_in_a_fixed_order()
    {
        // Method before status before no-store: the first reason that applies is the one reported.
        Assert.Equal(CacheReason.NotStorableMethod, Decide(Request(HttpMethod.Post), Response(HttpStatusCode.InternalServerError, "Cache-Control: no-store")).Reason);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(Request(), Response(HttpStatusCode.InternalServerError, "Cache-Control: no-store")).Reason);
        Assert.Equal(CacheReason.NotStorableRequestNoStore, Decide(Request("Cache-Control: no-store"), Response("Cache-Control: no-store")).Reason);
    }

    [Fact]
    public void A_not_stored_decision_still_reports_the_initial_age()
    {
        var decision = Decide(Request(), Response(HttpStatusCode.InternalServerError, "Age: 12"));

        Assert.Equal(Seconds(12), decision.InitialAge);
    }

    [Fact]
    public void Response_delay_counts_into_the_age()
    {
        using var request = Request();
        using var response = Response("Cache-Control: max-age=60");

        var decision = CachePolicy.Store(request, response, CacheSettings.Default, CacheRequestOptions.Default, Sent, Now);

        Assert.Equal(Seconds(1), decision.InitialAge);
        Assert.Equal(Now + Seconds(59), decision.ExpiresAt);
    }

    // ---- The rest of the precedence: per-status, per-URL, callback, heuristic ----

    private static readonly UrlExpiration[] UrlRules =
    [
        new(UrlPattern.Glob("example.test/resource"), Expiration.After(Seconds(40))),
        new(UrlPattern.Glob("example.test"), Expiration.After(Seconds(45))),
    ];

    public static TheoryData<string, Expiration?, bool, bool, bool, bool, double?> LowerPrecedence => new()
    {
        // name, per-request, per-status, per-URL, callback, heuristic, fresh seconds
        { "per-request over per-status", Expiration.After(Seconds(30)), true, true, true, true, 30 },
        { "per-status over per-URL", null, true, true, true, true, 35 },
        { "per-URL (first match) over the callback", null, false, true, true, true, 40 },
        { "the callback over the heuristic", null, false, false, true, true, 50 },
        { "the heuristic over the session", null, false, false, false, true, 8640 },
        { "the session last", null, false, false, false, false, 10 },
    };

    [Theory]
    [MemberData(nameof(LowerPrecedence))]
    public void Expiration_precedence_below_the_headers(string name, Expiration? perRequest, bool byStatus, bool byUrl, bool callback, bool heuristic, double? freshSeconds)
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = Expiration.After(Seconds(10)),
            StatusExpireAfter = byStatus ? new Dictionary<int, Expiration> { [200] = Expiration.After(Seconds(35)) } : new Dictionary<int, Expiration>(),
            UrlExpireAfter = byUrl ? UrlRules : [],
            ExpireAfterCallback = callback ? _ => Expiration.After(Seconds(50)) : null,
            HeuristicFreshness = heuristic,
        };
        // Last-Modified a day before Date: the heuristic gives a tenth of it, 2.4 hours.
        var response = Response(Date(Now), "Last-Modified: " + (Now - TimeSpan.FromDays(1)).ToString("r", System.Globalization.CultureInfo.InvariantCulture));

        var decision = Decide(Request(), response, settings, perRequest);

        Assert.True(decision.Store, name);
        Assert.Equal(freshSeconds is { } s ? Now + Seconds(s) : null, decision.ExpiresAt);
    }

    [Fact]
    public void A_callback_with_no_opinion_falls_through_to_the_session()
    {
        var settings = CacheSettings.Default with { ExpireAfter = Expiration.After(Seconds(10)), ExpireAfterCallback = _ => null };

        Assert.Equal(Now + Seconds(10), Decide(Request(), Response(), settings).ExpiresAt);
    }

    [Fact]
    public void A_per_URL_rule_that_does_not_match_is_skipped()
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = Expiration.After(Seconds(10)),
            UrlExpireAfter = [new(UrlPattern.Glob("other.test"), Expiration.After(Seconds(99)))],
        };

        Assert.Equal(Now + Seconds(10), Decide(Request(), Response(), settings).ExpiresAt);
    }

    [Fact]
    public void A_per_URL_DoNotCache_is_not_stored()
    {
        var settings = CacheSettings.Default with { UrlExpireAfter = [new(UrlPattern.Glob("example.test/"), Expiration.DoNotCache)] };

        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(Request(), Response(), settings).Reason);
    }

    [Fact]
    public void A_per_status_lifetime_makes_its_status_storable()
    {
        var settings = CacheSettings.Default with { StatusExpireAfter = new Dictionary<int, Expiration> { [404] = Expiration.After(Seconds(30)) } };

        var decision = Decide(Request(), Response(HttpStatusCode.NotFound), settings);

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(30), decision.ExpiresAt);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(Request(), Response(HttpStatusCode.Gone), settings).Reason);
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(100, 7)]
    public void Rfc9111_4_2_2_Heuristic_freshness_is_a_tenth_of_the_age_at_most_a_week(int daysSinceModified, double freshDays)
    {
        var settings = CacheSettings.Default with { HeuristicFreshness = true };
        var lastModified = (Now - TimeSpan.FromDays(daysSinceModified)).ToString("r", System.Globalization.CultureInfo.InvariantCulture);

        var decision = Decide(Request(), Response(Date(Now), "Last-Modified: " + lastModified), settings);

        Assert.Equal(Now + TimeSpan.FromDays(freshDays), decision.ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_2_Heuristic_freshness_is_opt_in()
    {
        var lastModified = (Now - TimeSpan.FromDays(10)).ToString("r", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Null(Decide(Request(), Response(Date(Now), "Last-Modified: " + lastModified)).ExpiresAt);
    }

    [Fact]
    public void Rfc9111_4_2_2_Explicit_freshness_wins_over_the_heuristic()
    {
        var settings = CacheSettings.Default with { HeuristicFreshness = true };
        var lastModified = (Now - TimeSpan.FromDays(10)).ToString("r", System.Globalization.CultureInfo.InvariantCulture);

        var decision = Decide(Request(), Response(Date(Now), "Cache-Control: max-age=5", "Last-Modified: " + lastModified), settings);

        Assert.Equal(Now + Seconds(5), decision.ExpiresAt);
    }

    // ---- Overrides ----

    [Theory]
    [InlineData("no-store")]
    [InlineData("private")]
    public void AlwaysCache_stores_what_the_answer_forbids(string cacheControl)
    {
        var settings = CacheSettings.Default with { AlwaysCache = true, Shared = true };

        Assert.True(Decide(Request(), Response("Cache-Control: " + cacheControl), settings).Store);
    }

    [Fact]
    public void AlwaysCache_still_honours_the_method_and_status()
    {
        var settings = CacheSettings.Default with { AlwaysCache = true };

        Assert.Equal(CacheReason.NotStorableMethod, Decide(Request(HttpMethod.Post), Response(), settings).Reason);
        Assert.Equal(CacheReason.NotStorableStatus, Decide(Request(), Response(HttpStatusCode.InternalServerError), settings).Reason);
    }

    [Fact]
    public void The_store_predicate_has_the_last_word()
    {
        var refuse = CacheSettings.Default with { StorePredicate = r => !r.Headers.Contains("X-Private-Data") };

        Assert.Equal(CacheReason.NotStorablePredicate, Decide(Request(), Response("X-Private-Data: 1"), refuse).Reason);
        Assert.True(Decide(Request(), Response(), refuse).Store);
        Assert.Equal(CacheReason.NotStorableNoStore, Decide(Request(), Response("Cache-Control: no-store", "X-Private-Data: 1"), refuse).Reason);
    }

    // ---- Cache-Control read as §5.2 asks ----

    [Theory]
    [InlineData("max-age=\"60\"", 60)]
    [InlineData("MAX-AGE=60", 60)]
    [InlineData("max-age = 60", 60)]
    [InlineData("max-age=60, max-age=60", 60)]
    [InlineData("max-age=60, max-age=120", 0)]
    [InlineData("max-age=abc", 0)]
    [InlineData("max-age=-5", 0)]
    [InlineData("max-age=", 0)]
    [InlineData("max-age=99999999999", 2147483648)]
    public void Rfc9111_5_2_Response_max_age_is_read_leniently_and_safely(string cacheControl, double freshSeconds)
    {
        var decision = Decide(Request(), Response("Cache-Control: " + cacheControl));

        Assert.True(decision.Store);
        Assert.Equal(Now + Seconds(freshSeconds), decision.ExpiresAt);
    }

    [Theory]
    [InlineData("no-store, max-age=abc")]
    [InlineData("max-age=abc, no-store")]
    [InlineData("NO-STORE")]
    [InlineData("public, no-store=\"x\"")]
    public void Rfc9111_5_2_A_malformed_directive_never_hides_no_store(string cacheControl)
    {
        Assert.Equal(CacheReason.NotStorableNoStore, Decide(Request(), Response("Cache-Control: " + cacheControl)).Reason);
    }

    [Fact]
    public void Rfc9111_5_2_Cache_Control_on_several_lines_is_one_list()
    {
        Assert.Equal(CacheReason.NotStorableNoStore, Decide(Request(), Response("Cache-Control: max-age=60", "Cache-Control: no-store")).Reason);
    }
}
