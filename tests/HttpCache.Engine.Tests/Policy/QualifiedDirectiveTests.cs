using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>Qualified no-cache and private (RFC 9111 §5.2.2.4, §5.2.2.7): the answer without the named fields.</summary>
public sealed class QualifiedDirectiveTests
{
    private static readonly CacheSettings Shared = CacheSettings.Default with { Shared = true };

    private static Dictionary<string, string> StoredHeaders(HttpResponseMessage response, CacheSettings settings) =>
        CachePolicy.StorableHeaders(response, settings).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);

    [Theory]
    [InlineData("no-cache=\"Set-Cookie\"", new[] { "Set-Cookie" })]
    [InlineData("no-cache=\"Set-Cookie, X-Token\", max-age=60", new[] { "Set-Cookie", "X-Token" })]
    [InlineData("no-cache=Set-Cookie", new[] { "Set-Cookie" })]
    [InlineData("no-cache=\"a\", no-cache=\"b\"", new[] { "a", "b" })]
    public void Rfc9111_5_2_2_4_Qualified_no_cache_names_fields_not_the_answer(string field, string[] names)
    {
        var directives = CacheDirectives.Parse(field);

        Assert.False(directives.NoCache);
        Assert.Equal(names, directives.NoCacheFields);
    }

    [Theory]
    [InlineData("no-cache")]
    [InlineData("no-cache=\"\"")]
    [InlineData("no-cache=\"Set-Cookie\", no-cache")]
    public void Rfc9111_5_2_2_4_Unqualified_no_cache_wins(string field) => Assert.True(CacheDirectives.Parse(field).NoCache);

    [Fact]
    public void Rfc9111_5_2_2_4_A_qualified_no_cache_answer_is_stored_fresh_without_the_named_fields()
    {
        // "If the no-cache response directive specifies one or more field names, then a cache MAY use the response
        // to satisfy a subsequent request, subject to any other restrictions on caching. However, any header
        // fields in the response that have the field name(s) listed MUST NOT be sent in the response to a
        // subsequent request without successful revalidation with the origin server."
        using var response = Response("Cache-Control: max-age=60, no-cache=\"Set-Cookie, X-Token\"", "Set-Cookie: id=1", "X-Token: t", "X-Kept: k");

        var decision = CachePolicy.Store(Request(), response, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);
        var stored = StoredHeaders(response, CacheSettings.Default);

        Assert.Equal(Now + Seconds(60), decision.ExpiresAt);
        Assert.False(stored.ContainsKey("Set-Cookie"));
        Assert.False(stored.ContainsKey("X-Token"));
        Assert.Equal("k", stored["X-Kept"]);
        Assert.Equal("id=1", string.Join(",", response.Headers.NonValidated["Set-Cookie"])); // the caller still gets it
    }

    [Fact]
    public void Rfc9111_5_2_2_7_A_shared_cache_stores_a_qualified_private_answer_without_the_named_fields()
    {
        // "If a qualified private response directive is present, then only the named field(s) are limited to a
        // single user: a shared cache MUST NOT store the named field(s) but MAY store the remainder of the response message."
        using var response = Response("Cache-Control: max-age=60, private=\"X-User\"", "X-User: alice", "X-Kept: k");

        var decision = CachePolicy.Store(Request(), response, Shared, CacheRequestOptions.Default, Now, Now);
        var sharedStored = StoredHeaders(response, Shared);
        var privateStored = StoredHeaders(response, CacheSettings.Default);

        Assert.True(decision.Store);
        Assert.False(sharedStored.ContainsKey("X-User"));
        Assert.Equal("k", sharedStored["X-Kept"]);
        Assert.Equal("alice", privateStored["X-User"]); // a private cache may keep what is private to its user
    }

    [Fact]
    public void Rfc9111_5_2_2_7_Unqualified_private_still_keeps_the_answer_out_of_a_shared_cache()
    {
        using var response = Response("Cache-Control: max-age=60, private");

        Assert.Equal(CacheReason.NotStorablePrivate, CachePolicy.Store(Request(), response, Shared, CacheRequestOptions.Default, Now, Now).Reason);
    }

    [Fact]
    public void Rfc9111_4_3_4_A_304_naming_a_field_in_no_cache_removes_it_from_the_stored_answer()
    {
        List<KeyValuePair<string, string[]>> stored = [new("Set-Cookie", ["old=1"]), new("ETag", ["\"v1\""])];
        using var notModified = Response(System.Net.HttpStatusCode.NotModified, "Cache-Control: max-age=60, no-cache=\"Set-Cookie\"", "Set-Cookie: new=2");

        var merged = CachePolicy.MergeNotModified(stored, notModified, CacheSettings.Default);

        Assert.DoesNotContain(merged, h => h.Key == "Set-Cookie");
        Assert.Contains(merged, h => h.Key == "ETag");
    }

    [Fact]
    public void Fields_are_omitted_only_while_the_session_honours_Cache_Control()
    {
        using var response = Response("Cache-Control: no-cache=\"Set-Cookie\"", "Set-Cookie: id=1");

        Assert.DoesNotContain("Set-Cookie", CachePolicy.FieldsOmittedFromStore(response, CacheSettings.Default with { CacheControl = false }));
        Assert.Contains("Set-Cookie", CachePolicy.FieldsOmittedFromStore(response, CacheSettings.Default));
    }
}
