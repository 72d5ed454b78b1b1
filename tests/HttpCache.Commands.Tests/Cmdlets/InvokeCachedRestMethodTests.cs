using System.Collections;
using System.Management.Automation;
using System.Numerics;
using System.Xml;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Invoke-CachedRestMethod: Invoke-RestMethod's conversions over Invoke-CachedWebRequest's cache.</summary>
public sealed class InvokeCachedRestMethodTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.InvokeCachedRestMethodCommand";
    private readonly TestOrigin origin = fixture.Origin;

    private (string Path, string Url) Respond(string contentType, string body, int status = 200)
    {
        var path = origin.NewPath("rest");
        origin.Respond(path, status, new Dictionary<string, string> { ["Content-Type"] = contentType }, body);
        return (path, origin.Url(path).AbsoluteUri);
    }

    [Fact]
    public async Task JsonObjectBecomesAPSCustomObjectAndIsCached()
    {
        var (path, url) = Respond("application/json; charset=utf-8", """
            { "name": "Ada", "id": 7, "big": 12345678901, "huge": 123456789012345678901234567890, "ratio": 0.5,
              "admin": true, "manager": null, "tags": ["a", "b"], "address": { "city": "London" } }
            """);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $first = Invoke-CachedRestMethod -Uri $u -Session $s -ResponseVariable r1
            $second = Invoke-CachedRestMethod -Uri $u -Session $s -ResponseVariable r2
            $second
            $r1.FromCache; $r2.FromCache; $r2.Reason
            $second.PSObject.Properties | ForEach-Object Name
            """, ("u", url));

        var user = result.Output[0];
        Assert.IsType<PSCustomObject>(user.BaseObject);
        Assert.Equal("Ada", user.Prop<string>("name"));
        Assert.IsType<long>(user.Properties["id"].Value); // ConvertFrom-Json gives every integer that fits as Int64
        Assert.IsType<long>(user.Properties["big"].Value);
        Assert.IsType<BigInteger>(user.Properties["huge"].Value);
        Assert.Equal(0.5, user.Properties["ratio"].Value);
        Assert.Equal(true, user.Properties["admin"].Value);
        Assert.Null(user.Properties["manager"].Value);
        Assert.Equal(["a", "b"], Assert.IsType<object[]>(user.Properties["tags"].Value));
        Assert.Equal("London", PSObject.AsPSObject(user.Properties["address"].Value).Prop<string>("city"));
        Assert.Equal([false, true, "fresh-hit"], result.BaseOutput.Skip(1).Take(3));
        Assert.Equal(["name", "id", "big", "huge", "ratio", "admin", "manager", "tags", "address"], result.BaseOutput.Skip(4));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task JsonArrayIsWrittenElementByElement()
    {
        var (_, url) = Respond("application/json", """[ { "n": 1 }, { "n": 2 }, { "n": 3 } ]""");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            Invoke-CachedRestMethod $u -Session $s | Where-Object n -ge 2 | ForEach-Object n
            @(Invoke-CachedRestMethod $u -Session $s).Count
            """, ("u", url));

        Assert.Equal([2L, 3L, 3], result.BaseOutput);
    }

    [Fact]
    public async Task AnRssFeedBecomesItsItemsAsInvokeRestMethodGivesThem()
    {
        var (_, url) = Respond("application/rss+xml", """<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss><channel><item><title>One</title></item><item><title>Two</title></item></channel></rss>""");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $feed = Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory)
            $feed.GetType().FullName
            $feed | ForEach-Object title
            """, ("u", url));

        Assert.Equal(["System.Object[]", "One", "Two"], result.BaseOutput);
    }

    [Theory]
    [InlineData("text/plain; charset=utf-8", "{ \"a\": 1 }", "Json")]
    [InlineData("text/plain", "<root><a>1</a></root>", "Xml")]
    [InlineData("text/html", "<html><body>hi</body></html>", "Text")]
    [InlineData("text/plain", "just words", "Text")]
    [InlineData("application/json", "{ not json", "Text")]
    [InlineData("application/octet-stream", "[1, 2]", "Json")]
    public async Task ContentIsReadByItsTypeThenByItsShape(string contentType, string body, string kind)
    {
        var (_, url) = Respond(contentType, body);
        using var ps = PS.Open();
        var result = await ps.Ok("$null = Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory) -Verbose", ("u", url));

        Assert.Contains(result.Verbose, v => v.Contains($": {kind} content", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TextStaysAString()
    {
        var (_, url) = Respond("text/plain; charset=utf-8", "hello");
        using var ps = PS.Open();
        var result = await ps.Ok("Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory)", ("u", url));

        Assert.Equal(["hello"], result.BaseOutput);
    }

    [Fact]
    public async Task NamesThatDifferOnlyByCaseAreLeftAsTextAsInvokeRestMethodLeavesThem()
    {
        const string body = """{ "Key": 1, "key": 2 }""";
        var (_, url) = Respond("application/json", body);
        using var ps = PS.Open();
        var result = await ps.Ok("Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory)", ("u", url));

        Assert.Equal(body, Assert.IsType<string>(Assert.Single(result.Output).BaseObject));
    }

    [Fact]
    public async Task EmptyBodyOutputsNothing()
    {
        var path = origin.NewPath("empty");
        origin.Respond(path, 204);
        using var ps = PS.Open();
        var result = await ps.Ok("Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory) -StatusCodeVariable code; $code", ("u", origin.Url(path).AbsoluteUri));

        Assert.Equal([204], result.BaseOutput);
    }

    [Fact]
    public async Task ErrorStatusIsAWebCmdletWebResponseExceptionUnlessSkippedAndSetsTheVariablesOnlyWhenSkipped()
    {
        var (_, url) = Respond("application/problem+json", """{ "title": "Not Found", "status": 404 }""", status: 404);
        using var ps = PS.Open();
        var error = await ps.Fails("Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory)", ("u", url));
        Assert.Equal($"WebCmdletWebResponseException,{Cmdlet}", error.FullyQualifiedErrorId);

        var result = await ps.Ok("""
            # As Invoke-RestMethod: a call that throws leaves the variables unset.
            try { $null = Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory) -StatusCodeVariable failedCode } catch { }
            $null -eq $failedCode
            $p = Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory) -SkipHttpErrorCheck -StatusCodeVariable code -ResponseHeadersVariable headers
            $code; $p.title; $headers['Content-Type']
            """, ("u", url));
        Assert.Equal([true, 404, "Not Found", "application/problem+json"], result.BaseOutput);
    }

    [Fact]
    public async Task SharesTheCacheWithInvokeCachedWebRequest()
    {
        var (path, url) = Respond("application/json", """{ "v": 1 }""");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest $u -Session $s
            (Invoke-CachedRestMethod $u -Session $s -ResponseVariable r).v
            $r.FromCache
            """, ("u", url));

        Assert.Equal([1L, true], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task ThrottleLimitFetchesManyAndReportsFailuresPerUrl()
    {
        var (_, good) = Respond("application/json", """{ "ok": true }""");
        var (_, bad) = Respond("application/json", """{ "ok": false }""", status: 500);
        using var ps = PS.Open();
        var result = await ps.RunAsync("""
            $urls | Invoke-CachedRestMethod -Session (New-HttpCacheSession -Backend Memory) -ThrottleLimit 3 | ForEach-Object ok
            """, ("urls", new[] { good, bad, good + "?x=1", good + "?x=2" }));

        Assert.False(result.Threw, result.ToString());
        Assert.Equal([true, true, true], result.BaseOutput);
        Assert.Equal([$"WebCmdletWebResponseException,{Cmdlet}"], result.ErrorIds);
    }

    [Fact]
    public async Task OutFileWritesTheRawBodyAndPassThruTheObjects()
    {
        var (_, url) = Respond("application/json", """{ "v": 42 }""");
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            Invoke-CachedRestMethod $u -Session $s -OutFile $f
            (Invoke-CachedRestMethod $u -Session $s -OutFile $f -PassThru).v
            """, ("u", url), ("f", temp.File("body.json")));

        Assert.Equal([42L], result.BaseOutput);
        Assert.Equal("""{ "v": 42 }""", await File.ReadAllTextAsync(temp.File("body.json")));
    }
}
