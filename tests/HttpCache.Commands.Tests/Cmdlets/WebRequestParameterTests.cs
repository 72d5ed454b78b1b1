using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Invoke-WebRequest's parameters on the cached twins: what each sends, and how the cache treats it.</summary>
public sealed class WebRequestParameterTests : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.InvokeCachedWebRequestCommand";
    private readonly TestOrigin origin;

    public WebRequestParameterTests(OriginFixture fixture) => origin = fixture.Origin;

    [Fact]
    public async Task UploadsBypassTheCacheUnlessTheSessionAllowsTheMethod()
    {
        var url = Map(context => TestOrigin.WriteAsync(context, 200, $"{context.Request.Method} {context.Request.ContentType?.Split(';')[0]} {context.Request.ContentLength}"));
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("in.txt"), "file body");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $plain = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            $r = Invoke-CachedWebRequest $u -Method Post -Form @{ name = 'ada'; file = Get-Item $f } -Session $plain
            "$($r.Reason) $($r.Content.Split(' ')[1])"
            (Invoke-CachedWebRequest $u -Method Put -InFile $f -Session $plain).Reason
            (Invoke-CachedWebRequest $u -Method Post -InFile $f -TransferEncoding chunked -Session $plain).Reason
            $posts = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00 -AllowedMethods GET, POST
            $null = Invoke-CachedWebRequest $u -Method Post -InFile $f -Session $posts
            (Invoke-CachedWebRequest $u -Method Post -InFile $f -Session $posts).FromCache
            """, ("u", url.AbsoluteUri), ("f", temp.File("in.txt")));

        Assert.Equal(["bypass-method multipart/form-data", "bypass-method", "bypass-method", true], result.BaseOutput);
    }

    [Fact]
    public async Task ResumeAsksForTheRestAndAppendsIt()
    {
        const string whole = "0123456789";
        var url = Map(context =>
        {
            var range = context.Request.Headers.Range.ToString();
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && int.TryParse(range[6..].TrimEnd('-'), out var from))
            {
                if (from >= whole.Length)
                {
                    context.Response.Headers.ContentRange = $"bytes */{whole.Length}";
                    return TestOrigin.WriteAsync(context, 416, string.Empty);
                }

                context.Response.Headers.ContentRange = $"bytes {from}-{whole.Length - 1}/{whole.Length}";
                return TestOrigin.WriteAsync(context, 206, whole[from..]);
            }

            return TestOrigin.WriteAsync(context, 200, whole);
        });
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("part.txt"), "0123");
        using var ps = PS.Open();
        await ps.Ok("""
            Invoke-CachedWebRequest $u -OutFile $f -Resume -Session (New-HttpCacheSession -Backend Memory)
            Invoke-CachedWebRequest $u -OutFile $f -Resume -Session (New-HttpCacheSession -Backend Memory)
            """, ("u", url.AbsoluteUri), ("f", temp.File("part.txt")));

        Assert.Equal(whole, File.ReadAllText(temp.File("part.txt")));
        Assert.Equal(["bytes=4-", "bytes=10-"], origin.Requests(url.AbsolutePath).Select(r => r.Header("Range")));
    }

    [Fact]
    public async Task CustomMethodIsSentAndConflictsWithMethod()
    {
        var url = Map(context => TestOrigin.WriteAsync(context, 200, context.Request.Method));
        using var ps = PS.Open();
        var result = await ps.Ok("(Invoke-CachedWebRequest $u -CustomMethod purge -Session (New-HttpCacheSession -Backend Memory)).Content", ("u", url.AbsoluteUri));
        var conflict = await ps.Fails("Invoke-CachedWebRequest $u -Method Get -CM PURGE -Session (New-HttpCacheSession -Backend Memory)", ("u", url.AbsoluteUri));

        Assert.Equal(["PURGE"], result.BaseOutput);
        Assert.Equal($"ConflictingParameters,{Cmdlet}", conflict.FullyQualifiedErrorId);
    }

    [Theory]
    [InlineData("-Authentication Bearer", "WebCmdletAuthenticationTokenNotSuppliedException")]
    [InlineData("-Authentication Basic", "WebCmdletAuthenticationCredentialNotSuppliedException")]
    [InlineData("-PassThru", "WebCmdletOutFileMissingException")]
    [InlineData("-Resume", "WebCmdletOutFileMissingException")]
    [InlineData("-Body 'x' -Form @{ a = 1 }", "WebCmdletBodyFormConflictException")]
    [InlineData("-ProxyUseDefaultCredentials", "WebCmdletProxyUriNotSuppliedException")]
    [InlineData("-NoProxy -Proxy http://127.0.0.1:9", "ConflictingParameters")]
    [InlineData("-WebSession 'not a session'", "InvalidWebSession")]
    public async Task ParametersThatDoNotFitAreInvokeWebRequestsErrors(string parameters, string errorId)
    {
        var url = Map(OriginBehaviors.Counter());
        using var ps = PS.Open();
        var error = await ps.Fails($"Invoke-CachedWebRequest $u {parameters} -Session (New-HttpCacheSession -Backend Memory)", ("u", url.AbsoluteUri));

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(0, origin.RequestCount(url.AbsolutePath));
    }

    [Fact]
    public async Task ASessionKeepsTheHeadersItWasGivenAndSendsThem()
    {
        var echo = Map(context => TestOrigin.WriteAsync(context, 200, $"{context.Request.Headers["X-Team"]}|{context.Request.Headers.UserAgent}"));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest $u -SessionVariable w -Headers @{ 'X-Team' = 'blue' } -UserAgent 'agent/1' -Session $s
            $w.Headers['X-Team']
            (Invoke-CachedWebRequest $u -WebSession $w -ForceRefresh -Session $s).Content
            """, ("u", echo.AbsoluteUri));

        Assert.Equal(["blue", "blue|agent/1"], result.BaseOutput);
    }

    [Fact]
    public async Task HttpVersionDisableKeepAliveAndAGetsDictionaryBodyAreSentAsInvokeWebRequestSendsThem()
    {
        var url = Map(context => TestOrigin.WriteAsync(context, 200, $"{context.Request.Protocol}|{context.Request.Headers.Connection}|{context.Request.QueryString}"));
        using var ps = PS.Open();
        var result = await ps.Ok(
            "(Invoke-CachedWebRequest $u -HttpVersion 1.0 -DisableKeepAlive -Body @{ q = 'a b' } -Session (New-HttpCacheSession -Backend Memory)).Content",
            ("u", url.AbsoluteUri));

        Assert.Equal(["HTTP/1.0|close|?q=a+b"], result.BaseOutput);
    }

    [Fact]
    public async Task AnOnlyIfCachedMissIsCaughtAsAnHttpResponseException()
    {
        var url = Map(OriginBehaviors.Counter());
        using var ps = PS.Open();
        var result = await ps.Ok("""
            try { Invoke-CachedWebRequest $u -OnlyIfCached -Session (New-HttpCacheSession -Backend Memory) }
            catch [Microsoft.PowerShell.Commands.HttpResponseException] {
                [int]$_.Exception.Response.StatusCode
                $_.Exception.CachedResponse.Reason
                $_.Exception.Response.ReasonPhrase
            }
            """, ("u", url.AbsoluteUri));

        Assert.Equal([504, "only-if-cached-miss", "Not Cached"], result.BaseOutput);
    }

    private Uri Map(RequestDelegate handler)
    {
        var path = origin.NewPath("param");
        origin.Map(path, handler);
        return origin.Url(path);
    }
}
