using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>RFC 9111 §5.2: Cache-Control as the cache reads it.</summary>
public sealed class CacheDirectivesTests
{
    [Theory]
    [InlineData("max-age=60", 60)]
    [InlineData("max-age=\"60\"", 60)]
    [InlineData("Max-Age=60", 60)]
    [InlineData("public,max-age=60", 60)]
    [InlineData("  max-age=60  ,  public ", 60)]
    [InlineData("max-age=0", 0)]
    [InlineData("max-age=abc", 0)]
    [InlineData("max-age=-1", 0)]
    [InlineData("max-age=1.5", 0)]
    [InlineData("max-age=+5", 0)]
    [InlineData("max-age", 0)]
    [InlineData("max-age=60, max-age=60", 60)]
    [InlineData("max-age=60, max-age=30", 0)]
    [InlineData("max-age=2147483647", 2147483647)]
    [InlineData("max-age=2147483648", 2147483648)]
    [InlineData("max-age=99999999999999999999999", 2147483648)]
    public void Rfc9111_1_2_2_Delta_seconds(string field, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), CacheDirectives.Parse(field).MaxAge);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("public")]
    [InlineData("s-maxage=60")]
    [InlineData("x-max-age=60")]
    public void An_absent_max_age_is_null(string? field)
    {
        Assert.Null(CacheDirectives.Parse(field).MaxAge);
    }

    [Theory]
    [InlineData("no-store", "no-store")]
    [InlineData("NO-STORE", "no-store")]
    [InlineData("private=\"Set-Cookie, X-Other\", max-age=5", "private")]
    [InlineData("no-cache=\"Set-Cookie\"", "no-cache")]
    [InlineData("max-age=abc, no-store", "no-store")]
    [InlineData("a=\"x,y\", must-revalidate", "must-revalidate")]
    [InlineData("community=\"UCI\", immutable", "immutable")]
    public void Directives_are_found_whatever_surrounds_them(string field, string directive)
    {
        Assert.True(CacheDirectives.Parse(field).Has(directive));
    }

    [Fact]
    public void A_quoted_comma_does_not_split_the_list()
    {
        var directives = CacheDirectives.Parse("private=\"a, no-store\"");

        Assert.False(directives.Private); // qualified: QualifiedDirectiveTests
        Assert.Equal(["a", "no-store"], directives.PrivateFields);
        Assert.False(directives.NoStore);
        Assert.Equal("a, no-store", directives.Value("private"));
    }

    [Fact]
    public void Quoted_pairs_are_unescaped()
    {
        Assert.Equal("a\"b", CacheDirectives.Parse("x=\"a\\\"b\"").Value("x"));
    }

    [Fact]
    public void Several_field_lines_are_one_list()
    {
        var directives = CacheDirectives.Parse(["max-age=60", "no-store, must-revalidate"]);

        Assert.Equal(TimeSpan.FromSeconds(60), directives.MaxAge);
        Assert.True(directives.NoStore);
        Assert.True(directives.MustRevalidate);
    }

    [Theory]
    [InlineData("max-stale", true, null)]
    [InlineData("max-stale=30", true, 30)]
    [InlineData("max-stale=abc", true, 0)]
    [InlineData("max-age=5", false, null)]
    public void Rfc9111_5_2_1_2_Max_stale_with_and_without_a_limit(string field, bool present, int? limit)
    {
        var directives = CacheDirectives.Parse(field);

        Assert.Equal(present, directives.MaxStale);
        Assert.Equal(limit is { } l ? TimeSpan.FromSeconds(l) : null, directives.MaxStaleLimit);
    }

    [Fact]
    public void Every_named_directive_is_read()
    {
        var d = CacheDirectives.Parse("no-cache, private, public, must-revalidate, proxy-revalidate, immutable, only-if-cached, s-maxage=1, min-fresh=2, stale-if-error=3, stale-while-revalidate=4");

        Assert.True(d.NoCache && d.Private && d.Public && d.MustRevalidate && d.ProxyRevalidate && d.Immutable && d.OnlyIfCached);
        Assert.False(d.NoStore);
        Assert.Equal(TimeSpan.FromSeconds(1), d.SharedMaxAge);
        Assert.Equal(TimeSpan.FromSeconds(2), d.MinFresh);
        Assert.Equal(TimeSpan.FromSeconds(3), d.StaleIfError);
        Assert.Equal(TimeSpan.FromSeconds(4), d.StaleWhileRevalidate);
    }

    [Fact]
    public void From_reads_unvalidated_header_values()
    {
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation("Cache-Control", "max-age=\"30\", no-store, max-age=oops");

        var directives = CacheDirectives.From(response.Headers);

        Assert.True(directives.NoStore);
        Assert.Equal(TimeSpan.Zero, directives.MaxAge);
    }

    [Fact]
    public void No_header_is_no_directives()
    {
        using var response = new HttpResponseMessage();

        Assert.Same(CacheDirectives.Empty, CacheDirectives.From(response.Headers));
    }

    [Fact]
    public void A_remembered_field_value_reads_as_parsed_and_is_parsed_once()
    {
        var first = CacheDirectives.Remembered("public, max-age=61");
        var again = CacheDirectives.Remembered("public, max-age=61");

        Assert.Same(first, again);
        Assert.Equal(TimeSpan.FromSeconds(61), again.MaxAge);
        Assert.True(again.Has("public"));
        Assert.Same(CacheDirectives.Empty, CacheDirectives.Remembered(null));
    }

    [Fact]
    public void Remembering_starts_again_past_its_bound_and_keeps_reading_right()
    {
        for (var i = 0; i < 600; i++)
        {
            Assert.Equal(TimeSpan.FromSeconds(100_000 + i), CacheDirectives.Remembered($"max-age={100_000 + i}").MaxAge);
        }

        Assert.Equal(TimeSpan.FromSeconds(100_599), CacheDirectives.Remembered("max-age=100599").MaxAge);
    }

    [Theory]
    [InlineData(new[] { "Cache-Control: max-age=60" }, "max-age=60")]
    [InlineData(new[] { "Cache-Control: max-age=60", "ETag: \"a\"", "cache-control: public" }, "max-age=60, public")]
    [InlineData(new[] { "ETag: \"a\"" }, null)]
    public void A_stored_fields_lines_are_joined_as_one_list(string[] headers, string? joined)
    {
        var stored = PolicyData.Stored(TimeSpan.FromMinutes(1), headers: headers);

        Assert.Equal(joined, stored.GetJoinedHeader("Cache-Control"));
    }

    [Fact]
    public void A_stored_field_line_of_several_values_keeps_them_in_order()
    {
        var stored = new StoredResponse
        {
            Record = PolicyData.Stored(TimeSpan.FromMinutes(1)).Record,
            StatusCode = 200,
            Headers = [new("Cache-Control", ["max-age=60", "public"]), new("Cache-Control", ["no-transform"])],
        };

        Assert.Equal("max-age=60, public, no-transform", stored.GetJoinedHeader("Cache-Control"));
    }
}
