using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using HttpCache.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Each case goes through the real Invoke-WebRequest (or Invoke-RestMethod) and through its cached twin — a
/// first call and a second, cached, call — against one Kestrel origin, and the three are compared field by
/// field: what a script reads from the answer (status, content, headers, raw content, links, images, input
/// fields, relation links, base response) or from the error (ErrorId, category, exception type and message,
/// the HttpResponseMessage and its status, ErrorDetails, and whether a catch for HttpResponseException
/// catches it). Date and Age headers are left out: they differ between any two answers.
/// </summary>
public sealed class InvokeWebRequestDifferentialTests : IClassFixture<OriginFixture>, IClassFixture<HttpsOriginFixture>
{
    /// <summary>What a script reads from an answer or an error, as JSON: the compared projection.</summary>
    private const string Projection = """
        function Project($r) {
            if ($null -eq $r) { return 'no output' }
            $h = [ordered]@{}
            foreach ($k in ($r.Headers.Keys | Sort-Object)) { if ($k -notin 'Date', 'Age', 'Content-Length', 'Transfer-Encoding') { $h[$k] = ($r.Headers[$k] -join ', ') } }
            $p = [ordered]@{
                StatusCode = $r.StatusCode; StatusCodeType = $r.StatusCode.GetType().Name; StatusDescription = $r.StatusDescription
                ContentType = $r.Content.GetType().Name
                Content = if ($r.Content -is [byte[]]) { [Convert]::ToBase64String($r.Content) } else { $r.Content }
                RawContentLength = $r.RawContentLength; RawContentStream = [Convert]::ToBase64String($r.RawContentStream.ToArray())
                HeadersType = $r.Headers.GetType().FullName; Headers = $h
                RawContent = @($r.RawContent -split "`r?`n" | Where-Object { $_ -notmatch '^(Date|Age|Content-Length|Transfer-Encoding): ' }) -join "`n"
                RelationLink = @($r.RelationLink.GetEnumerator() | Sort-Object Key | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ';'
                BaseResponse = "$($r.BaseResponse.GetType().FullName) $([int]$r.BaseResponse.StatusCode)"
                Text = "$r"
            }
            if ($r.Content -is [string]) {
                $p.Encoding = "$($r.Encoding.WebName)"
                $p.Links = @($r.Links | ForEach-Object { ($_.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join '|' }) -join ';'
                $p.Images = @($r.Images | ForEach-Object { ($_.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join '|' }) -join ';'
                $p.InputFields = @($r.InputFields | ForEach-Object { ($_.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join '|' }) -join ';'
            }
            $p | ConvertTo-Json -Depth 4
        }
        function Types($v, $path = '$') {
            if ($null -eq $v) { return "$path=null" }
            "$path=$($v.GetType().Name)"
            if ($v -is [System.Management.Automation.PSCustomObject]) { foreach ($p in $v.PSObject.Properties) { Types $p.Value "$path.$($p.Name)" } }
            elseif ($v -is [array]) { for ($i = 0; $i -lt $v.Count; $i++) { Types $v[$i] "$path[$i]" } }
        }
        function Rest($v) { @($v | ForEach-Object { if ($_ -is [System.Xml.XmlNode]) { $_.OuterXml } else { (ConvertTo-Json -InputObject $_ -Depth 10) + "`n" + ((Types $_) -join ';') } }) -join "`n" }
        function ErrorOf([scriptblock] $call) {
            $caught = 'not caught'
            try { $null = & $call; return 'no error' }
            catch [Microsoft.PowerShell.Commands.HttpResponseException] { $caught = 'HttpResponseException'; $e = $_ }
            catch { $e = $_ }
            [ordered]@{
                Caught = $caught; Id = $e.FullyQualifiedErrorId.Split(',')[0]; Category = "$($e.CategoryInfo.Category)"
                ExceptionType = $e.Exception.GetType().FullName; Message = $e.Exception.Message; StatusCode = "$($e.Exception.StatusCode)"
                Response = if ($e.Exception.Response) { "$($e.Exception.Response.GetType().FullName) $([int]$e.Exception.Response.StatusCode) $($e.Exception.Response.ReasonPhrase)" } else { 'none' }
                Details = $e.ErrorDetails.Message
            } | ConvertTo-Json
        }
        """;

    private readonly TestOrigin origin;
    private readonly HttpsOriginFixture https;

    public InvokeWebRequestDifferentialTests(OriginFixture fixture, HttpsOriginFixture https)
    {
        origin = fixture.Origin;
        this.https = https;
    }

    [Fact]
    public async Task Json() => await SameAnswer(Map(context => Write(context, 200, "application/json; charset=utf-8", """{"name":"ada","tags":["a","b"],"n":3}""")));

    [Fact]
    public async Task HtmlWithLinksImagesAndInputFields() => await SameAnswer(Map(context => Write(context, 200, "text/html; charset=utf-8", """
        <html><body><a href="/one" class='x'>One</a> <a href=two>Two</a>
        <img src="/i.png" alt="pic"> <input type="text" name="q" value="v"/><input name=plain></body></html>
        """)));

    [Fact]
    public async Task Binary()
    {
        var bytes = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        await SameAnswer(Map(async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers.CacheControl = "max-age=600";
            await context.Response.Body.WriteAsync(bytes);
        }));
    }

    [Fact]
    public async Task Redirect()
    {
        var target = Map(context => Write(context, 200, "application/json", """{"landed":true}"""));
        var from = origin.NewPath("redirect");
        origin.Map(from, context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target.AbsolutePath;
            return Task.CompletedTask;
        });
        await SameAnswer(origin.Url(from));
    }

    [Fact]
    public async Task NotFoundIsTheSameError() =>
        await SameError(Map(context => Write(context, 404, "text/html", "<html><body><h1>Gone</h1> missing</body></html>")));

    [Fact]
    public async Task NotFoundWithSkipHttpErrorCheckIsTheSameAnswer() =>
        await SameAnswer(Map(context => Write(context, 404, "application/json", """{"error":"missing"}""")), "-SkipHttpErrorCheck");

    [Fact]
    public async Task ServerErrorIsTheSameErrorWithIndentedJsonDetails() =>
        await SameError(Map(context => Write(context, 500, "application/json", """{"error":{"code":42}}""")));

    [Fact]
    public async Task BearerAuthentication()
    {
        var url = Map(context => Write(context, 200, "text/plain", "auth=" + context.Request.Headers.Authorization));
        var (builtIn, first, cached, fromCache) = await Run(url, "-Authentication Bearer -Token (ConvertTo-SecureString 'tok-1' -AsPlainText -Force) -AllowUnencryptedAuthentication");

        Assert.Contains("auth=Bearer tok-1", builtIn, StringComparison.Ordinal);
        Assert.Equal(builtIn, first);
        Assert.Equal(builtIn, cached);
        Assert.True(fromCache);

        // The token is part of the entry's credentials: another token never gets the first one's answer.
        using var ps = PS.Open();
        var other = await ps.Ok(
            "$s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00; foreach ($t in 'tok-1', 'tok-2') { (Invoke-CachedWebRequest $u -Session $s -Authentication Bearer -Token (ConvertTo-SecureString $t -AsPlainText -Force) -AllowUnencryptedAuthentication).Content }",
            ("u", url.AbsoluteUri));
        Assert.Equal(["auth=Bearer tok-1", "auth=Bearer tok-2"], other.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task BasicAuthentication()
    {
        var url = Map(context => Write(context, 200, "text/plain", "auth=" + context.Request.Headers.Authorization));
        var (builtIn, first, cached, fromCache) = await Run(url, "-Authentication Basic -Credential ([pscredential]::new('ada', (ConvertTo-SecureString 'pw' -AsPlainText -Force))) -AllowUnencryptedAuthentication");

        Assert.Contains("auth=Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ada:pw")), builtIn, StringComparison.Ordinal);
        Assert.Equal(builtIn, first);
        Assert.Equal(builtIn, cached);
        Assert.True(fromCache);
    }

    [Fact]
    public async Task AuthenticationOverHttpIsRefusedAlike()
    {
        var url = Map(context => Write(context, 200, "text/plain", "never"));
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $a = @{ Authentication = 'Bearer'; Token = (ConvertTo-SecureString 't' -AsPlainText -Force) }
            ErrorOf { Invoke-WebRequest $u @a }
            ErrorOf { Invoke-CachedWebRequest $u @a -Session (New-HttpCacheSession -Backend Memory) }
            """, ("u", url.AbsoluteUri));

        Assert.Equal(Field(result.Output[0], "Id"), Field(result.Output[1], "Id"));
        Assert.Equal("WebCmdletAllowUnencryptedAuthenticationRequiredException", Field(result.Output[1], "Id"));
        Assert.Equal(0, origin.RequestCount(url.AbsolutePath));
    }

    [Fact]
    public async Task CookieSession()
    {
        var login = Map(context =>
        {
            context.Response.Headers.SetCookie = "sid=abc123; Path=/";
            return Write(context, 200, "text/plain", "welcome");
        });
        var whoami = Map(context => Write(context, 200, "text/plain", "cookie=" + context.Request.Headers.Cookie));
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $null = Invoke-WebRequest $login -SessionVariable plain
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            $null = Invoke-CachedWebRequest $login -SessionVariable cached -Session $s
            Project (Invoke-WebRequest $whoami -WebSession $plain)
            Project (Invoke-CachedWebRequest $whoami -WebSession $cached -Session $s)
            $second = Invoke-CachedWebRequest $whoami -WebSession $cached -Session $s
            Project $second
            $second.FromCache
            $cached.GetType().FullName
            $cached.Cookies.GetCookies([uri]$login).Count
            """, ("login", login.AbsoluteUri), ("whoami", whoami.AbsoluteUri));

        Assert.Contains("cookie=sid=abc123", result.Output[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(result.Output[0].ToString(), result.Output[1].ToString());
        Assert.Equal(result.Output[0].ToString(), result.Output[2].ToString());
        Assert.Equal([true, "Microsoft.PowerShell.Commands.WebRequestSession", 1], result.BaseOutput.Skip(3));
    }

    [Fact]
    public async Task OutFileWithPassThru()
    {
        var url = Map(context => Write(context, 200, "application/json", """{"saved":1}"""));
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            Project (Invoke-WebRequest $u -OutFile $a -PassThru)
            Project (Invoke-CachedWebRequest $u -OutFile $b -PassThru -Session $s)
            Project (Invoke-CachedWebRequest $u -OutFile $c -PassThru -Session $s)
            """, ("u", url.AbsoluteUri), ("a", temp.File("a.json")), ("b", temp.File("b.json")), ("c", temp.File("c.json")));

        Assert.Equal(result.Output[0].ToString(), result.Output[1].ToString());
        Assert.Equal(result.Output[0].ToString(), result.Output[2].ToString());
        Assert.Equal(File.ReadAllText(temp.File("a.json")), File.ReadAllText(temp.File("b.json")));
        Assert.Equal(File.ReadAllText(temp.File("a.json")), File.ReadAllText(temp.File("c.json")));
    }

    [Fact]
    public async Task RetriesHonourRetryAfter()
    {
        // Each path answers 429 (Retry-After: 1) once, then 200. A 60-second interval would stall the test:
        // finishing at all shows both honour Retry-After.
        RequestDelegate flaky = context => TestOrigin.RequestNumber(context) == 1
            ? WriteWith(context, 429, "text/plain", "slow down", ("Retry-After", "1"))
            : Write(context, 200, "application/json", """{"ok":true}""");
        var builtInUrl = Map(flaky);
        var cachedUrl = Map(flaky);
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            Project (Invoke-WebRequest $a -MaximumRetryCount 2 -RetryIntervalSec 60)
            Project (Invoke-CachedWebRequest $b -MaximumRetryCount 2 -RetryIntervalSec 60 -Session $s)
            Project (Invoke-CachedWebRequest $b -MaximumRetryCount 2 -RetryIntervalSec 60 -Session $s)
            """, ("a", builtInUrl.AbsoluteUri), ("b", cachedUrl.AbsoluteUri));

        Assert.Equal(result.Output[0].ToString(), result.Output[1].ToString());
        Assert.Equal(result.Output[0].ToString(), result.Output[2].ToString());
        Assert.Equal(2, origin.RequestCount(builtInUrl.AbsolutePath));
        Assert.Equal(2, origin.RequestCount(cachedUrl.AbsolutePath)); // the retry, then the cached call
    }

    [Fact]
    public async Task SelfSignedHttpsWithSkipCertificateCheck()
    {
        var (builtIn, first, cached, fromCache) = await Run(https.Url, "-SkipCertificateCheck");

        Assert.Contains("secure", builtIn, StringComparison.Ordinal);
        Assert.Equal(builtIn, first);
        Assert.Equal(builtIn, cached);
        Assert.True(fromCache);
    }

    [Fact]
    public async Task SelfSignedHttpsWithoutTheSkipFailsBoth()
    {
        using var ps = PS.Open();
        var result = await ps.RunAsync("""
            try { $null = Invoke-WebRequest $u; 'answered' } catch { 'failed' }
            try { $null = Invoke-CachedWebRequest $u -Session (New-HttpCacheSession -Backend Memory); 'answered' } catch { 'failed' }
            """, ("u", https.Url.AbsoluteUri));

        Assert.Equal(["failed", "failed"], result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task UrlWithoutAScheme()
    {
        var url = Map(context => Write(context, 200, "application/json", """{"schemeless":true}"""));
        var bare = url.Authority + url.PathAndQuery; // 127.0.0.1:port/path
        var (builtIn, first, cached, fromCache) = await Run(bare, string.Empty);

        Assert.Contains("schemeless", builtIn, StringComparison.Ordinal);
        Assert.Equal(builtIn, first);
        Assert.Equal(builtIn, cached);
        Assert.True(fromCache);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8", """{"a":1,"list":[1,2,{"b":"c"}],"big":12345678901,"f":1.5,"when":"2020-01-01T00:00:00Z","huge":99999999999999999999999,"none":null}""")]
    [InlineData("application/json", """{"Key":1,"key":2}""")]
    [InlineData("application/xml", "<root><item id=\"1\">x</item></root>")]
    [InlineData("application/rss+xml", "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><item><title>one</title></item></channel></rss>")]
    [InlineData("text/plain; charset=utf-8", "just text")]
    public async Task RestMethodGivesTheSameObjects(string contentType, string body)
    {
        var url = Map(context => Write(context, 200, contentType, body));
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            Rest (Invoke-RestMethod $u -StatusCodeVariable sa -ResponseHeadersVariable ha)
            Rest (Invoke-CachedRestMethod $u -Session $s -StatusCodeVariable sb -ResponseHeadersVariable hb)
            Rest (Invoke-CachedRestMethod $u -Session $s -StatusCodeVariable sc -ResponseHeadersVariable hc -ResponseVariable rc)
            "$sa $($sa.GetType().Name) $($ha.GetType().FullName) $($ha['Content-Type'])"
            "$sb $($sb.GetType().Name) $($hb.GetType().FullName) $($hb['Content-Type'])"
            "$sc $($sc.GetType().Name) $($hc.GetType().FullName) $($hc['Content-Type'])"
            $rc.FromCache
            """, ("u", url.AbsoluteUri));

        Assert.Equal(result.Output[0].ToString(), result.Output[1].ToString());
        Assert.Equal(result.Output[0].ToString(), result.Output[2].ToString());
        Assert.Equal(result.Output[3].ToString(), result.Output[4].ToString());
        Assert.Equal(result.Output[3].ToString(), result.Output[5].ToString());
        Assert.True((bool)result.Output[6].BaseObject);
    }

    [Fact]
    public async Task RestMethodErrorsAlike()
    {
        var url = Map(context => Write(context, 404, "application/json", """{"error":"nope"}"""));
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory
            ErrorOf { Invoke-RestMethod $u }
            ErrorOf { Invoke-CachedRestMethod $u -Session $s }
            try { Invoke-RestMethod $u -StatusCodeVariable sa } catch { }
            try { Invoke-CachedRestMethod $u -Session $s -StatusCodeVariable sb } catch { }
            "$sa"; "$sb"
            """, ("u", url.AbsoluteUri));

        Assert.Equal(result.Output[0].ToString(), result.Output[1].ToString());
        Assert.Equal(["", ""], result.BaseOutput.Skip(2).Select(o => o.ToString())); // a call that throws sets neither
    }

    [Fact]
    public async Task RestMethodFollowsRelLinksAndCachesEveryPage()
    {
        var pages = new[] { origin.NewPath("page"), origin.NewPath("page"), origin.NewPath("page") };
        for (var i = 0; i < pages.Length; i++)
        {
            var index = i;
            origin.Map(pages[i], context =>
            {
                if (index + 1 < pages.Length)
                {
                    context.Response.Headers["Link"] = $"<{pages[index + 1]}>; rel=\"next\"";
                }

                return Write(context, 200, "application/json", $$"""{"page":{{index + 1}}}""");
            });
        }

        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            (Invoke-RestMethod $u -FollowRelLink | ForEach-Object page) -join ','
            (Invoke-CachedRestMethod $u -FollowRelLink -Session $s | ForEach-Object page) -join ','
            (Invoke-CachedRestMethod $u -FollowRelLink -Session $s | ForEach-Object page) -join ','
            (Invoke-CachedRestMethod $u -FollowRelLink -MaximumFollowRelLink 2 -Session $s | ForEach-Object page) -join ','
            """, ("u", origin.Url(pages[0]).AbsoluteUri));

        Assert.Equal(["1,2,3", "1,2,3", "1,2,3", "1,2"], result.BaseOutput.Select(o => o.ToString()));
        Assert.All(pages, page => Assert.Equal(2, origin.RequestCount(page))); // the built-in's and the first cached run
    }

    /// <summary>Runs the case through Invoke-WebRequest and twice through the twin; asserts all three project alike.</summary>
    private async Task SameAnswer(Uri url, string parameters = "")
    {
        var (builtIn, first, cached, fromCache) = await Run(url.AbsoluteUri, parameters);
        Assert.Equal(builtIn, first);
        Assert.Equal(builtIn, cached);
        Assert.True(fromCache || parameters.Contains("SkipHttpErrorCheck", StringComparison.Ordinal), "the second call was not served from the cache");
    }

    private Task<(string BuiltIn, string First, string Cached, bool FromCache)> Run(Uri url, string parameters) => Run(url.AbsoluteUri, parameters);

    private async Task<(string BuiltIn, string First, string Cached, bool FromCache)> Run(string url, string parameters)
    {
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + $$"""
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            Project (Invoke-WebRequest $u {{parameters}})
            Project (Invoke-CachedWebRequest $u {{parameters}} -Session $s)
            $second = Invoke-CachedWebRequest $u {{parameters}} -Session $s
            Project $second
            [bool]$second.FromCache
            """, ("u", url));
        return (result.Output[0].ToString(), result.Output[1].ToString(), result.Output[2].ToString(), (bool)result.Output[3].BaseObject);
    }

    /// <summary>The error of Invoke-WebRequest, of the twin's first call and of its cached call, compared.</summary>
    private async Task SameError(Uri url)
    {
        using var ps = PS.Open();
        var result = await ps.Ok(Projection + """
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 00:10:00
            ErrorOf { Invoke-WebRequest $u }
            ErrorOf { Invoke-CachedWebRequest $u -Session $s }
            ErrorOf { Invoke-CachedWebRequest $u -Session $s }
            """, ("u", url.AbsoluteUri));

        var builtIn = result.Output[0].ToString();
        Assert.Contains("HttpResponseException", builtIn, StringComparison.Ordinal);
        Assert.Equal(builtIn, result.Output[1].ToString());
        Assert.Equal(builtIn, result.Output[2].ToString());
    }

    private static string Field(System.Management.Automation.PSObject json, string name) =>
        System.Text.Json.JsonDocument.Parse(json.ToString()).RootElement.GetProperty(name).GetString()!;

    private Uri Map(RequestDelegate handler)
    {
        var path = origin.NewPath("case");
        origin.Map(path, handler);
        return origin.Url(path);
    }

    private static Task Write(HttpContext context, int status, string contentType, string body) =>
        TestOrigin.WriteAsync(context, status, body, new Dictionary<string, string> { ["Content-Type"] = contentType });

    private static Task WriteWith(HttpContext context, int status, string contentType, string body, (string Name, string Value) header) =>
        TestOrigin.WriteAsync(context, status, body, new Dictionary<string, string> { ["Content-Type"] = contentType, [header.Name] = header.Value });
}

/// <summary>A Kestrel origin on https://127.0.0.1 with a self-signed certificate made for the test run.</summary>
public sealed class HttpsOriginFixture : IAsyncLifetime
{
    private WebApplication? app;

    public Uri Url { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        // Exported and loaded again so the private key is usable by SslStream on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        app = builder.Build();
        app.Run(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"secure":true}""");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Url = new Uri(address.TrimEnd('/') + "/secure");
    }

    public async Task DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }
}
