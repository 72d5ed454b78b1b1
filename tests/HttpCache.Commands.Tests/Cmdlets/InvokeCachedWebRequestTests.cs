using System.Management.Automation;
using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

public sealed class InvokeCachedWebRequestTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.InvokeCachedWebRequestCommand";
    private readonly TestOrigin origin = fixture.Origin;

    private (string Path, string Url) Counter(Func<Microsoft.AspNetCore.Http.RequestDelegate>? behavior = null)
    {
        var path = origin.NewPath();
        origin.Map(path, behavior?.Invoke() ?? OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

    [Fact]
    public async Task SecondRequestIsServedFromTheCache()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest $u -Session $s
            """, ("u", url));

        Assert.Equal(2, result.Output.Count);
        var (first, second) = (result.Output[0], result.Output[1]);
        Assert.Equal("HttpCache.CachedResponse", first.TypeName());
        Assert.False(first.Prop<bool>("FromCache"));
        Assert.Equal("miss-no-entry", first.Prop<string>("Reason"));
        Assert.Equal("stored", first.Prop<string>("StoreReason"));
        Assert.True(second.Prop<bool>("FromCache"));
        Assert.Equal("fresh-hit", second.Prop<string>("Reason"));
        Assert.Equal(200, second.Prop<int>("StatusCode"));
        Assert.Equal("OK", second.Prop<string>("StatusDescription"));
        Assert.Equal("1", second.Prop<string>("Content"));
        Assert.Equal("1", second.ToString());
        Assert.Equal(1L, second.Prop<long>("RawContentLength"));
        Assert.Equal(url, second.Prop<string>("Uri"));
        Assert.Equal(first.Prop<string>("CacheKey"), second.Prop<string>("CacheKey"));
        Assert.NotNull(second.Prop<DateTime?>("CreatedAt"));
        Assert.Null(second.Prop<DateTime?>("ExpiresAt")); // the session's default NeverExpire
        Assert.False(second.Prop<bool>("IsExpired"));
        Assert.False(second.Prop<bool>("Revalidated"));
        Assert.NotNull(second.Prop<TimeSpan?>("Age"));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task ResponseHasInvokeWebRequestsShape()
    {
        var (_, url) = Counter(() => OriginBehaviors.Counter(new Dictionary<string, string> { ["X-Custom"] = "yes" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $r = Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)
            $r.Headers['x-custom'][0]
            $r.Headers['CONTENT-TYPE'][0]
            $r.RawContentStream.GetType().FullName
            $r.RawContentStream.ReadByte()
            """, ("u", url));

        Assert.Equal(["yes", "text/plain; charset=utf-8", "System.IO.MemoryStream", (int)'1'], result.BaseOutput.Select(o => o is int i ? (object)i : o.ToString()!).ToArray());
    }

    [Fact]
    public async Task ContentIsDecodedByTheCharsetOfContentType()
    {
        var path = origin.NewPath();
        origin.Map(path, async context =>
        {
            context.Response.ContentType = "text/plain; charset=iso-8859-1";
            await context.Response.Body.WriteAsync(Encoding.Latin1.GetBytes("café"));
        });
        using var ps = PS.Open();
        var result = await ps.Ok("(Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)).Content", ("u", origin.Url(path).AbsoluteUri));

        Assert.Equal("café", result.Single<string>());
    }

    [Fact]
    public async Task UrisComeFromThePipeline()
    {
        var (pathA, urlA) = Counter();
        var (pathB, urlB) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $a, $b | Invoke-CachedWebRequest -Session $s
            $a, $b | Invoke-CachedWebRequest -Session $s
            """, ("a", urlA), ("b", urlB));

        Assert.Equal([false, false, true, true], result.Output.Select(o => o.Prop<bool>("FromCache")));
        Assert.Equal([urlA, urlB, urlA, urlB], result.Output.Select(o => o.Prop<string>("Uri")));
        Assert.Equal(1, origin.RequestCount(pathA));
        Assert.Equal(1, origin.RequestCount(pathB));
    }

    [Fact]
    public async Task SessionBindsFromThePipelineByValueAndByPropertyName()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = $s | Invoke-CachedWebRequest -Uri $u
            # An object with Session and Uri properties (a cache entry) binds both.
            [pscustomobject]@{ Uri = $u; Session = $s } | Invoke-CachedWebRequest
            Get-HttpCacheEntry -Session $s | Invoke-CachedWebRequest
            """, ("u", url));

        Assert.Equal([true, true], result.Output.Select(o => o.Prop<bool>("FromCache")));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("/rooted/path")]
    [InlineData("ftp://example.com/file")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://")]
    [InlineData("http:///no-host")]
    [InlineData("https://:443/")]
    public async Task InvalidUriIsAClearErrorThatNeverReachesTheEngine(string uri)
    {
        using var ps = PS.Open();
        var error = await ps.Fails("Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)", ("u", uri));

        Assert.Equal($"InvalidUri,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(uri, error.TargetObject);
        Assert.Contains("absolute http or https URL", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotFoundIsAWebCmdletWebResponseExceptionCarryingTheResponse()
    {
        var path = origin.NewPath("missing"); // nothing mapped: 404
        using var ps = PS.Open();
        var result = await ps.Ok("""
            try {
                Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)
                'no error'
            }
            catch {
                $_.FullyQualifiedErrorId
                $_.CategoryInfo.Category.ToString()
                $_.Exception.Message
                $_.Exception.Response.StatusCode -eq 404
                $_.Exception.Response.GetType().FullName
                $_.Exception.GetType().FullName
                $_.ErrorDetails.Message
            }
            """, ("u", origin.Url(path).AbsoluteUri));

        Assert.Equal(
            [$"WebCmdletWebResponseException,{Cmdlet}", "InvalidOperation", "Response status code does not indicate success: 404 (Not Found).", "True",
             "System.Net.Http.HttpResponseMessage", "Microsoft.PowerShell.Commands.HttpResponseException", $"Nothing is mapped at {path}."],
            result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task SkipHttpErrorCheckOutputsTheErrorResponse()
    {
        var (_, url) = Counter(() => OriginBehaviors.Status(500));
        using var ps = PS.Open();
        var response = (await ps.Ok("Invoke-CachedWebRequest -Uri $u -SkipHttpErrorCheck -Session (New-HttpCacheSession -Backend Memory)", ("u", url))).Single<object>();
        var item = PSObject.AsPSObject(response);

        Assert.Equal(500, item.Prop<int>("StatusCode"));
        Assert.Equal("not-storable-status", item.Prop<string>("StoreReason"));
    }

    [Fact]
    public async Task OutFileWritesTheBodyAndOutputsNothingUnlessPassThru()
    {
        var (_, url) = Counter();
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            Invoke-CachedWebRequest -Uri $u -Session $s -OutFile $a
            Invoke-CachedWebRequest -Uri $u -Session $s -OutFile $b -PassThru
            """, ("u", url), ("a", temp.File("a.txt")), ("b", temp.File("b.txt")));

        var response = Assert.Single(result.Output);
        Assert.True(response.Prop<bool>("FromCache"));
        Assert.Equal("1", File.ReadAllText(temp.File("a.txt")));
        Assert.Equal("1", File.ReadAllText(temp.File("b.txt")));
    }

    [Fact]
    public async Task OutFileResolvesRelativePathsAgainstThePowerShellLocation()
    {
        var (_, url) = Counter();
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        await ps.Ok(PS.SetLocation + "; Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory) -OutFile 'body.txt'", ("u", url), ("d", temp.Path));

        Assert.Equal("1", File.ReadAllText(temp.File("body.txt")));
    }

    [Fact]
    public async Task OnlyIfCachedMissIsA504LikeAnHttp504()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var error = await ps.Fails("$s = New-HttpCacheSession -Backend Memory; Invoke-CachedWebRequest -Uri $u -Session $s -OnlyIfCached", ("u", url));

        Assert.Equal($"WebCmdletWebResponseException,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal("Response status code does not indicate success: 504 (Not Cached).", error.Exception.Message);

        var result = await ps.Ok("""
            Invoke-CachedWebRequest -Uri $u -Session $s -OnlyIfCached -SkipHttpErrorCheck
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s -OnlyIfCached
            """, ("u", url));

        Assert.Equal(2, result.Output.Count);
        Assert.Equal(504, result.Output[0].Prop<int>("StatusCode"));
        Assert.Equal("only-if-cached-miss", result.Output[0].Prop<string>("Reason"));
        Assert.Equal(200, result.Output[1].Prop<int>("StatusCode"));
        Assert.True(result.Output[1].Prop<bool>("FromCache"));
        Assert.Equal(1, origin.RequestCount(path)); // only the plain request reached the origin
    }

    [Fact]
    public async Task RefreshRevalidatesWithTheStoredValidator()
    {
        var (path, url) = Counter(() => OriginBehaviors.ETag("\"v1\""));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s -Refresh
            """, ("u", url));

        var refreshed = Assert.Single(result.Output);
        Assert.True(refreshed.Prop<bool>("FromCache"));
        Assert.True(refreshed.Prop<bool>("Revalidated"));
        Assert.Equal("revalidated", refreshed.Prop<string>("Reason"));
        Assert.Equal("1", refreshed.Prop<string>("Content"));
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("\"v1\"", origin.LastRequest(path)!.Header("If-None-Match"));
    }

    [Fact]
    public async Task ForceRefreshFetchesAnewAndStoresTheAnswer()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s -ForceRefresh
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", url));

        Assert.False(result.Output[0].Prop<bool>("FromCache"));
        Assert.Equal("refresh-forced", result.Output[0].Prop<string>("Reason"));
        Assert.Equal("2", result.Output[0].Prop<string>("Content"));
        Assert.True(result.Output[1].Prop<bool>("FromCache"));
        Assert.Equal("2", result.Output[1].Prop<string>("Content"));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("-Refresh -ForceRefresh")]
    [InlineData("-Refresh -OnlyIfCached")]
    [InlineData("-ForceRefresh -OnlyIfCached")]
    public async Task CacheModesAreMutuallyExclusive(string switches)
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var error = await ps.Fails($"Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory) {switches}", ("u", url));

        Assert.Equal($"AmbiguousParameterSet,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(0, origin.RequestCount(path));
    }

    [Fact]
    public async Task VerboseShowsTheDecisionReason()
    {
        var (_, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s -Verbose
            $null = Invoke-CachedWebRequest -Uri $u -Session $s -Verbose
            """, ("u", url));

        Assert.Contains(result.Verbose, line => line.Contains("miss-no-entry", StringComparison.Ordinal) && line.Contains(url, StringComparison.Ordinal));
        Assert.Contains(result.Verbose, line => line.StartsWith("Stored as ", StringComparison.Ordinal));
        Assert.Contains(result.Verbose, line => line.Contains("fresh-hit", StringComparison.Ordinal));
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("-Verbose", "SilentlyContinue", true)]
    [InlineData("", "Continue", true)]
    [InlineData("-Verbose:$false", "Continue", false)]
    [InlineData("", "SilentlyContinue", false)]
    [InlineData("", "Ignore", false)]
    public async Task VerboseFollowsPowerShellsOwnRules(string switches, string preference, bool shown)
    {
        // The explanations are put into words only when they will be shown: the cmdlet decides that as PowerShell does.
        var (_, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok($$"""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            function Get-Twice { [CmdletBinding()] param() Invoke-CachedWebRequest -Uri $u -Session $s {{switches}} }
            $VerbosePreference = '{{preference}}'
            $answer = Get-Twice
            $VerbosePreference = 'SilentlyContinue'
            $answer.FromCache
            """, ("u", url));

        Assert.Equal(true, result.Output.Single().BaseObject);
        Assert.Equal(shown, result.Verbose.Any(line => line.Contains("fresh-hit", StringComparison.Ordinal) && line.Contains(url, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PerRequestExpireAfterSetsTheLifetime()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $before = [DateTime]::Now
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -ExpireAfter 300
            ($r.ExpiresAt - $before).TotalSeconds
            $r = Invoke-CachedWebRequest -Uri "$u`?x=1" -Session $s -ExpireAfter DoNotCache
            $r.StoreReason
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("u", url));

        var seconds = (double)result.BaseOutput[0];
        Assert.InRange(seconds, 290, 310);
        Assert.Equal("not-storable-do-not-cache", result.BaseOutput[1]);
        Assert.Equal(1, result.BaseOutput[2]);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("'soon'")]
    [InlineData("-5")]
    [InlineData("'1 hour'")]
    public async Task BadExpireAfterIsAParameterBindingError(string value)
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var error = await ps.Fails($"Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory) -ExpireAfter {value}", ("u", url));

        Assert.Equal($"ParameterArgumentTransformationError,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        Assert.Contains("NeverExpire", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, origin.RequestCount(path));
    }

    [Fact]
    public async Task BodyHeadersContentTypeAndUserAgentReachTheOrigin()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s -Method Post -Body '{"a":1}' -ContentType 'application/json' -Headers @{ 'X-Token' = 'abc' } -UserAgent 'tests/1.0'
            $null = Invoke-CachedWebRequest -Uri $u -Session $s -Method POST -Body @{ name = 'a b'; n = 2 }
            $null = Invoke-CachedWebRequest -Uri $u -Session $s -Method PUT -Body ([byte[]](1, 2, 3))
            """, ("u", url));

        var requests = origin.Requests(path);
        Assert.Equal(3, requests.Count);
        Assert.Equal("POST", requests[0].Method);
        Assert.Equal("{\"a\":1}", requests[0].BodyText);
        Assert.Equal("application/json", requests[0].Header("Content-Type"));
        Assert.Equal("abc", requests[0].Header("X-Token"));
        Assert.Equal("tests/1.0", requests[0].Header("User-Agent"));
        Assert.Equal("application/x-www-form-urlencoded", requests[1].Header("Content-Type"));
        Assert.Equal(["n=2", "name=a+b"], requests[1].BodyText.Split('&').Order());
        Assert.StartsWith("Mozilla/5.0 (compatible; HttpCache/", requests[1].Header("User-Agent"));
        Assert.Equal("PUT", requests[2].Method);
        Assert.Equal([1, 2, 3], requests[2].Body);
    }

    [Fact]
    public async Task PostIsNotCachedByDefault()
    {
        var (path, url) = Counter();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            Invoke-CachedWebRequest -Uri $u -Session $s -Method POST -Body 'x'
            Invoke-CachedWebRequest -Uri $u -Session $s -Method POST -Body 'x'
            """, ("u", url));

        Assert.Equal(2, result.Output.Count);
        Assert.All(result.Output, r => Assert.False(r.Prop<bool>("FromCache")));
        Assert.All(result.Output, r => Assert.Equal("bypass-method", r.Prop<string>("Reason")));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task DroppedConnectionIsARequestFailedError()
    {
        var (_, url) = Counter(OriginBehaviors.Drop);
        using var ps = PS.Open();
        var error = await ps.Fails("Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)", ("u", url));

        Assert.Equal($"RequestFailed,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
        Assert.IsAssignableFrom<HttpRequestException>(error.Exception);
    }

    [Fact]
    public async Task TimeoutSecEndsASlowRequest()
    {
        // The origin never answers: only the timeout can end the command (else the runner's own 60 s limit fails
        // the test), and the origin sees the request given up.
        var gate = new OriginGate();
        var (_, url) = Counter(() => gate.Hold(OriginBehaviors.Counter()));
        using var ps = PS.Open();
        var error = await ps.Fails("Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory) -TimeoutSec 1", ("u", url));

        Assert.Equal($"RequestTimeout,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        await gate.WhenAbortedAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task StoppingThePipelineAbortsTheRequestAtTheOrigin()
    {
        // The origin holds the request and never lets it go: only the stop can end the command, and the origin
        // sees the abort arrive. (The guard only keeps a broken build from hanging the run.)
        var gate = new OriginGate();
        var (_, url) = Counter(() => gate.Hold(OriginBehaviors.Counter()));
        var guard = TimeSpan.FromSeconds(30);
        using var ps = PS.Open();
        using var stop = new CancellationTokenSource();
        var run = ps.RunAsync(
            "Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory)",
            new PowerShellRunOptions { Variables = new Dictionary<string, object?> { ["u"] = url } },
            stop.Token);
        await gate.WhenHeldAsync(1).WaitAsync(guard);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(guard));
        await gate.WhenAbortedAsync(1).WaitAsync(guard);
        Assert.Equal((1, 0), (gate.Arrived, gate.Held));
    }

    [Fact]
    public async Task CorruptStoredEntryIsACleanMissWithAWarningAndOtherEntriesStay()
    {
        var (pathA, urlA) = Counter();
        var (pathB, urlB) = Counter();
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Path $db
            $null = Invoke-CachedWebRequest -Uri $a -Session $s
            $null = Invoke-CachedWebRequest -Uri $b -Session $s
            """, ("a", urlA), ("b", urlB), ("db", temp.File("cache.sqlite")));

        // Damage one entry's stored metadata in the file itself, through the module's own Microsoft.Data.Sqlite.
        SqliteThroughTheModule.Execute(temp.File("cache.sqlite"), "UPDATE entries SET metadata = x'00112233' WHERE uri = $uri", ("$uri", urlA));

        var result = await ps.Ok("""
            Invoke-CachedWebRequest -Uri $a -Session $s
            Invoke-CachedWebRequest -Uri $b -Session $s
            (Get-HttpCacheStats -Session $s).CorruptEntries
            """, ("a", urlA), ("b", urlB));

        var warning = Assert.Single(result.Warnings);
        Assert.Contains("could not be read", warning, StringComparison.Ordinal);
        Assert.Contains(urlA, warning, StringComparison.Ordinal);
        Assert.False(result.Output[0].Prop<bool>("FromCache"));
        Assert.Equal("miss-no-entry", result.Output[0].Prop<string>("Reason"));
        Assert.Equal("2", result.Output[0].Prop<string>("Content"));
        Assert.True(result.Output[1].Prop<bool>("FromCache"));
        Assert.Equal(1L, result.Output[2].BaseObject);
        Assert.Equal(2, origin.RequestCount(pathA));
        Assert.Equal(1, origin.RequestCount(pathB));
    }
}
