using System.Globalization;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// The strict field readings (RFC 9110 §5.6.7, RFC 9111 §5.1, §5.3) end to end against a real Kestrel
/// origin: what a date form or an Age means for reuse, and that the origin's header bytes reach the caller
/// and the store unchanged.
/// </summary>
public sealed class FieldParsingHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static string Raw(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? string.Join("|", values)
            : "(absent)";

    private static string Format(string form, DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        return form switch
        {
            "imf" => utc.ToString("ddd, dd MMM yyyy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture),
            "rfc850" => utc.ToString("dddd, dd-MMM-yy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture),
            "asctime" => utc.ToString("ddd MMM ", CultureInfo.InvariantCulture) + utc.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) + utc.ToString(" HH:mm:ss yyyy", CultureInfo.InvariantCulture),
            "utc" => utc.ToString("ddd, dd MMM yyyy HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            "double-space" => utc.ToString("ddd, dd MMM yyyy  HH:mm:ss 'GMT'", CultureInfo.InvariantCulture),
            "one-digit-hour" => utc.ToString("ddd, dd MMM yyyy H:mm:ss 'GMT'", CultureInfo.InvariantCulture),
            _ => throw new ArgumentOutOfRangeException(nameof(form)),
        };
    }

    // RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP field MUST accept all three
    // HTTP-date formats." RFC 9111 §5.3: "A cache recipient MUST interpret invalid date formats ... as
    // representing a time in the past (i.e., "already expired")."
    [Theory]
    [InlineData("imf", 1, true)]
    [InlineData("rfc850", 1, true)]
    [InlineData("asctime", 1, true)]
    [InlineData("utc", 1, false)]
    [InlineData("double-space", 1, false)]
    [InlineData("one-digit-hour", 1, false)]
    [InlineData("imf", 2, false)]
    public async Task Rfc9111_5_3_Expires_forms_decide_reuse(string form, int lines, bool reused)
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("expires-" + form);
        origin.Map(path, context =>
        {
            // 01:00 past midnight, so a one-digit hour really is one digit.
            var date = TestOrigin.ResponseDate(context);
            var expires = date.Date.AddDays(1).AddHours(1);
            context.Response.Headers.Date = Format("imf", date);
            for (var i = 0; i < lines; i++)
            {
                context.Response.Headers.Append("Expires", Format(form, expires));
            }

            return TestOrigin.WriteAsync(context, 200, TestOrigin.RequestNumber(context).ToString(CultureInfo.InvariantCulture));
        });

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(reused, second.Info.FromCache);
        Assert.Equal(reused ? 1 : 2, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("2147483648", false)]
    [InlineData("2147483649", false)]
    [InlineData("99999999999999999999", false)]
    [InlineData("7200, 0", false)]
    [InlineData("60", true)]
    [InlineData("60s", true)]
    public async Task Rfc9111_5_1_Age_decides_reuse(string age, bool reused)
    {
        // §1.2.2: an Age too large to represent is 2^31 seconds, staler than any max-age; §5.1: the first
        // member of a list counts (7200 > 3600); an invalid Age ("60s") is ignored, so the answer is fresh.
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("age");
        origin.Respond(path, 200, new Dictionary<string, string> { ["Cache-Control"] = "max-age=3600", ["Age"] = age }, "x");

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(reused, second.Info.FromCache);
        Assert.Equal(reused ? 1 : 2, origin.RequestCount(path));
    }

    [Fact]
    public async Task The_origins_header_bytes_reach_the_caller_and_the_store_unchanged()
    {
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("bytes");
        var sent = new Dictionary<string, string>
        {
            ["Cache-Control"] = "max-age=60",
            ["Expires"] = "Sun, 06 Nov 1994 08:49:37 UTC",
            ["Last-Modified"] = "Sunday, 06-Nov-94 08:49:37 GMT",
            ["Vary"] = "Accept,  Accept-Language",
            ["Age"] = "5, 7",
        };
        origin.Respond(path, 200, sent, "x");

        var miss = await cache.GetAsync(origin.Url(path));
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.True(hit.Info.FromCache);
        foreach (var name in new[] { "Expires", "Last-Modified", "Vary" })
        {
            Assert.Equal(sent[name], Raw(miss.Response, name));
            Assert.Equal(sent[name], Raw(hit.Response, name));
        }

        Assert.Equal(sent["Age"], Raw(miss.Response, "Age"));
    }
}
