using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// An answer's views (headers, text, raw content, relation links) are built on first read, from the answer and
/// body the cmdlet kept: they must read the same as when they were built at once, on a hit, on a miss and after
/// -OutFile has closed the response.
/// </summary>
public sealed class AnswerViewsTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private string Serve(string contentType, byte[] body, string? link = null)
    {
        var path = origin.NewPath();
        origin.Map(path, async context =>
        {
            context.Response.ContentType = contentType;
            context.Response.Headers.CacheControl = "max-age=3600";
            if (link is not null)
            {
                context.Response.Headers.Link = link;
            }

            await context.Response.Body.WriteAsync(body);
        });
        return origin.Url(path).AbsoluteUri;
    }

    [Theory]
    [InlineData("utf-8")]       // the mark of the header's own charset is not part of the text
    [InlineData("iso-8859-1")]  // a mark wins over the header
    public async Task AUtf8ByteOrderMarkIsReadAndDropped(string charset)
    {
        var url = Serve("text/plain; charset=" + charset, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("héllo")]);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            foreach ($r in (Invoke-CachedWebRequest -Uri $u -Session $s), (Invoke-CachedWebRequest -Uri $u -Session $s)) {
                $r.Content; $r.Encoding.WebName; $r.FromCache
            }
            """, ("u", url));

        Assert.Equal(["héllo", "utf-8", "False", "héllo", "utf-8", "True"], result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task AUtf16ByteOrderMarkWinsOverTheHeadersCharset()
    {
        var url = Serve("application/json; charset=utf-8", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes("{\"a\":\"ü\"}")]);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            $r.Content; $r.Encoding.WebName
            (Invoke-CachedRestMethod -Uri $u -Session $s).a
            """, ("u", url));

        Assert.Equal(["{\"a\":\"ü\"}", "utf-16", "ü"], result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task ViewsReadTheSameOnAHitAsOnTheMiss()
    {
        var url = Serve("text/html; charset=utf-8", Encoding.UTF8.GetBytes("<a href=\"/x\">x</a>"), link: "</page/2>; rel=\"next\"");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            foreach ($r in (Invoke-CachedWebRequest -Uri $u -Session $s), (Invoke-CachedWebRequest -Uri $u -Session $s)) {
                $r.Headers['Content-Type'][0]
                $r.RawContent.StartsWith('HTTP/1.1 200 OK') -and $r.RawContent.EndsWith('<a href="/x">x</a>')
                $r.RelationLink['next']
                $r.Links[0].href
                $r.RawContentLength
            }
            """, ("u", url));

        var next = new Uri(new Uri(url), "/page/2").AbsoluteUri;
        string[] once = ["text/html; charset=utf-8", "True", next, "/x", "18"];
        Assert.Equal([.. once, .. once], result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task ViewsStayReadableAfterOutFileClosedTheResponse()
    {
        var url = Serve("application/json", Encoding.UTF8.GetBytes("{\"a\":1}"));
        using var folder = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -OutFile (Join-Path $d 'a.json') -PassThru
            $r.Headers['Content-Type'][0]
            $r.Content
            Get-Content -Raw (Join-Path $d 'a.json')
            """, ("u", url), ("d", folder.Path));

        Assert.Equal(["application/json", "{\"a\":1}", "{\"a\":1}"], result.BaseOutput.Select(o => o.ToString()));
    }
}
