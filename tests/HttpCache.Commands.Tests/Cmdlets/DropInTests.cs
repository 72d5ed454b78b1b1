using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Enable-HttpCache, Disable-HttpCache, Use-HttpCache and Get-HttpCacheSession -DropIn: plain Invoke-WebRequest and
/// Invoke-RestMethod (and iwr, irm) answered through the cache in a scope, in a runspace with the real built-ins.
/// </summary>
public sealed class DropInTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Json = """{"name":"Ada","id":7}""";
    private readonly TestOrigin origin = fixture.Origin;

    private (string Path, string Url) JsonPath()
    {
        var path = origin.NewPath("dropin-json");
        origin.Respond(path, 200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, Json);
        return (path, origin.Url(path).AbsoluteUri);
    }

    [Fact]
    public async Task EnableSendsPlainCallsAndTheirAliasesThroughTheSession()
    {
        var (path, url) = origin.NewCounterPath("dropin");
        var (jsonPath, jsonUrl) = JsonPath();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Name dropin-global -Backend Memory
            Enable-HttpCache -Session $s
            (Get-Command Invoke-WebRequest).CommandType.ToString()
            $first = Invoke-WebRequest $u
            $second = iwr $u
            $first.GetType().FullName; $first.FromCache; $second.FromCache; $second.Content
            (irm $j).name
            (Invoke-RestMethod $j).id
            (Get-HttpCacheStats -Session $s).SessionHits
            """, ("u", url), ("j", jsonUrl));

        Assert.Equal(["Function", "HttpCache.CachedResponse", false, true, "1", "Ada", 7L, 2L], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(1, origin.RequestCount(jsonPath));
    }

    [Fact]
    public async Task LocalScopeEndsWithTheScriptFileThatEnabledIt()
    {
        using var temp = new TempDirectory();
        var (path, url) = origin.NewCounterPath("dropin");
        var script = temp.File("Local.ps1");
        await File.WriteAllTextAsync(script, """
            param($Uri, $Session)
            Enable-HttpCache -Session $Session -Scope Local
            (Get-HttpCacheSession -DropIn).Scope
            $null = Invoke-WebRequest $Uri
            (Invoke-WebRequest $Uri).FromCache
            & { (Get-Command Invoke-WebRequest).CommandType.ToString() }   # what the script calls sees it too
            """);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            & $script -Uri $u -Session $s
            (Get-Command Invoke-WebRequest).CommandType.ToString()
            (Get-HttpCacheSession -DropIn).Enabled
            """, ("script", script), ("u", url));

        Assert.Equal(["Local", true, "Function", "Cmdlet", false], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task GlobalScopeOutlivesTheScriptFileThatEnabledIt()
    {
        using var temp = new TempDirectory();
        var (path, url) = origin.NewCounterPath("dropin");
        var script = temp.File("Global.ps1");
        await File.WriteAllTextAsync(script, "param($Session) Enable-HttpCache -Session $Session");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            & $script -Session $s
            $null = Invoke-WebRequest $u
            (Invoke-WebRequest $u).FromCache
            (Get-HttpCacheSession -DropIn).Scope
            Disable-HttpCache
            (Get-Command Invoke-WebRequest).CommandType.ToString()
            """, ("script", script), ("u", url));

        Assert.Equal([true, "Global", "Cmdlet"], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task DisablingOneScopeLeavesTheOtherScopesDropIn()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $g = New-HttpCacheSession -Name dropin-outer -Backend Memory
            $l = New-HttpCacheSession -Name dropin-inner -Backend Memory
            Enable-HttpCache -Session $g
            & {
                Enable-HttpCache -Session $l -Scope Local
                (Get-HttpCacheSession -DropIn).SessionName
                Disable-HttpCache            # the global one: this scope's own stays
                (Get-HttpCacheSession -DropIn).SessionName
            }
            (Get-HttpCacheSession -DropIn).Enabled
            Enable-HttpCache -Session $g
            & {
                Enable-HttpCache -Session $l -Scope Local
                Disable-HttpCache -Scope Local
                (Get-HttpCacheSession -DropIn).SessionName
            }
            Disable-HttpCache
            """);

        Assert.Equal(["dropin-inner", "dropin-inner", false, "dropin-outer"], result.BaseOutput);
    }

    [Fact]
    public async Task EnablingAgainSwitchesTheSession()
    {
        var (path, url) = origin.NewCounterPath("dropin");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $a = New-HttpCacheSession -Name dropin-a -Backend Memory
            $b = New-HttpCacheSession -Name dropin-b -Backend Memory
            Enable-HttpCache -Session $a
            $null = Invoke-WebRequest $u
            $dropIn = Enable-HttpCache -Session $b -PassThru
            $dropIn.SessionName
            (Invoke-WebRequest $u).FromCache     # $b has not seen it
            Disable-HttpCache
            """, ("u", url));

        Assert.Equal(["dropin-b", false], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task DisableWhenNothingIsOnSaysSoAndFailsNothing()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("Disable-HttpCache -Verbose; (Get-Command Invoke-RestMethod).CommandType.ToString()");

        Assert.Equal(["Cmdlet"], result.BaseOutput);
        Assert.Contains(result.Verbose, v => v.Contains("was not on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task VerboseAndWhatIfPreferenceNeitherEchoNorStopTheDropIn()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $WhatIfPreference = $true
            Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory) -Verbose
            $global = (Get-Command Invoke-WebRequest).CommandType.ToString()
            & {
                Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory) -Scope Local -Verbose
                (Get-HttpCacheSession -DropIn).Scope
                Disable-HttpCache -Scope Local -Verbose
                (Get-HttpCacheSession -DropIn).Scope
            }
            Disable-HttpCache -Verbose
            $WhatIfPreference = $false
            $global; (Get-Command Invoke-WebRequest).CommandType.ToString()
            """);

        Assert.Equal(["Local", "Global", "Function", "Cmdlet"], result.BaseOutput);
        // The cmdlets' own messages only: never the provider's "Performing the operation" with the function text.
        Assert.Equal(4, result.Verbose.Count);
        Assert.DoesNotContain(result.Verbose, v => v.Contains("Performing the operation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AParameterTheCacheCannotHonourPassesThroughToTheBuiltInAndVerboseSaysWhy()
    {
        using var temp = new TempDirectory();
        var (path, url) = origin.NewCounterPath("dropin");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory)
            Invoke-WebRequest $u -OutFile $f -Resume -Verbose
            Invoke-WebRequest $u -OutFile $f -Resume -Verbose
            Get-Content -Raw $f
            Disable-HttpCache
            """, ("u", url), ("f", temp.File("resumed.txt")));

        // Both calls reached the origin: the built-in answered, never the cache.
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(2, result.Verbose.Count(v => v.StartsWith("Invoke-WebRequest goes to the built-in Microsoft.PowerShell.Utility\\Invoke-WebRequest, uncached: -Resume", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhatPassesThroughIsReadFromTheTwinsOwnParameters()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory)
            $id = [regex]::Match((Get-Command Invoke-WebRequest).Definition, 'HttpCache drop-in ([0-9a-f]{32})').Groups[1].Value
            # Every parameter the twin has is cached; a name it lacks sends the call to the built-in.
            $twin = (Get-Command Invoke-CachedWebRequest).Parameters.Keys | Where-Object { $_ -notin 'InFile', 'Form', 'TransferEncoding', 'Resume' }
            $all = @{}; foreach ($name in $twin) { $all[$name] = $null }
            $cached = [HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', $all)
            $cached.Command.Name; $null -eq $cached.Reason
            $lacking = [HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', @{ Uri = 'http://x/'; NotATwinParameter = 1 })
            $lacking.Command.ModuleName + '\' + $lacking.Command.Name; $lacking.Reason
            $upload = [HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', @{ Uri = 'http://x/'; InFile = 'a' })
            $upload.Reason
            Disable-HttpCache
            $gone = [HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', @{ Uri = 'http://x/' })
            $null -eq $gone.Command; $gone.Reason
            """);

        Assert.Equal("Invoke-CachedWebRequest", result.BaseOutput[0]);
        Assert.Equal(true, result.BaseOutput[1]);
        Assert.Equal("Microsoft.PowerShell.Utility\\Invoke-WebRequest", result.BaseOutput[2]);
        Assert.Contains("Invoke-CachedWebRequest has no -NotATwinParameter", (string)result.BaseOutput[3], StringComparison.Ordinal);
        Assert.EndsWith("uncached: -InFile uploads a file; uploads are not cached (the cached twin would send them past the cache too).", (string)result.BaseOutput[4], StringComparison.Ordinal);
        Assert.Equal(true, result.BaseOutput[5]);
        Assert.Contains("turned off", (string)result.BaseOutput[6], StringComparison.Ordinal);
    }

    [Fact]
    public async Task VariablesTheBuiltInsSetLandInTheCallersScope()
    {
        var (_, url) = JsonPath();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory)
            function Get-It {
                $null = Invoke-RestMethod $u -StatusCodeVariable code -ResponseHeadersVariable headers
                $code; $headers['Content-Type']
            }
            Get-It
            Get-It
            Disable-HttpCache
            """, ("u", url));

        Assert.Equal([200, "application/json", 200, "application/json"], result.BaseOutput.Select(o => o is string[] many ? many[0] : o));
    }

    [Fact]
    public async Task CallsBindAsTheyBindToTheBuiltIn()
    {
        var (path, url) = origin.NewCounterPath("dropin");
        using var ps = PS.Open();
        // The built-in takes -Uri by position and not from the pipeline, and -Method as its enum: so does the drop-in.
        var result = await ps.RunAsync("""
            $u | Invoke-WebRequest
            Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory)
            $u | Invoke-WebRequest
            $null = Invoke-WebRequest $u
            (Invoke-WebRequest -Uri $u -Method Get).FromCache
            Disable-HttpCache
            """, ("u", url));

        Assert.Equal(2, result.ErrorIds.Count);
        Assert.All(result.ErrorIds, id => Assert.StartsWith("MissingMandatoryParameter,", id, StringComparison.Ordinal));
        Assert.Equal([true], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task AFunctionOfTheUsersOwnIsNeverReplaced()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("""
            function Invoke-WebRequest { 'mine' }
            Enable-HttpCache
            """);
        var after = await ps.Ok("Invoke-WebRequest; (Get-HttpCacheSession -DropIn).Enabled");

        Assert.Equal("DropInFunctionExists,HttpCache.Commands.EnableHttpCacheCommand", error.FullyQualifiedErrorId);
        Assert.Equal(["mine", false], after.BaseOutput);
    }

    [Fact]
    public async Task UseCachesOnlyInsideTheBlockAndItsOutputAndVariablesFlow()
    {
        var (path, url) = origin.NewCounterPath("dropin");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Name dropin-block -Backend Memory
            $out = Use-HttpCache -Session $s {
                (Get-HttpCacheSession -DropIn).Scope
                $null = Invoke-WebRequest $u
                $inside = (Invoke-WebRequest $u).FromCache
                'a', 'b'
            }
            $out.Count; $inside
            (Get-HttpCacheSession -DropIn).Enabled
            (Invoke-WebRequest $u).GetType().Name
            """, ("u", url));

        Assert.Equal([3, true, false, "BasicHtmlWebResponseObject"], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task UseRestoresThePreviousStateWhenTheBlockThrows()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $outer = New-HttpCacheSession -Name dropin-before-throw -Backend Memory
            Enable-HttpCache -Session $outer
            try { Use-HttpCache -Session (New-HttpCacheSession -Backend Memory) { throw 'boom' } } catch { "caught $_" }
            (Get-HttpCacheSession -DropIn).SessionName
            Disable-HttpCache
            try { Use-HttpCache { throw [System.IO.IOException]::new('disk') } } catch [System.IO.IOException] { 'typed catch' }
            (Get-Command Invoke-WebRequest).CommandType.ToString()
            """);

        Assert.Equal(["caught boom", "dropin-before-throw", "typed catch", "Cmdlet"], result.BaseOutput);
    }

    [Fact]
    public async Task NestedUseHandsBackTheOuterSession()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $a = New-HttpCacheSession -Name dropin-enable -Backend Memory
            $b = New-HttpCacheSession -Name dropin-use -Backend Memory
            $c = New-HttpCacheSession -Name dropin-nested -Backend Memory
            Enable-HttpCache -Session $a
            Use-HttpCache -Session $b {
                (Get-HttpCacheSession -DropIn).SessionName
                Use-HttpCache -Session $c { (Get-HttpCacheSession -DropIn).SessionName }
                (Get-HttpCacheSession -DropIn).SessionName
            }
            (Get-HttpCacheSession -DropIn).SessionName
            Disable-HttpCache
            & { Use-HttpCache -Session $b { (Get-HttpCacheSession -DropIn).Scope } }
            (Get-HttpCacheSession -DropIn).Enabled
            """);

        Assert.Equal(["dropin-use", "dropin-nested", "dropin-use", "dropin-enable", "Block", false], result.BaseOutput);
    }

    [Fact]
    public async Task ForEachObjectParallelRunspacesCacheOnceTheyEnableIt()
    {
        var (path, url) = origin.NewCounterPath("dropin");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest $u -Session $s   # stored before the runspaces start
            1..4 | ForEach-Object -ThrottleLimit 2 -Parallel {
                Import-Module $using:manifest
                Enable-HttpCache -Session $using:s
                (Invoke-WebRequest $using:u).FromCache
            }
            # The runspaces' drop-ins are theirs: this one's Invoke-WebRequest is still the built-in.
            (Get-Command Invoke-WebRequest).CommandType.ToString()
            """, ("u", url), ("manifest", RepoPaths.ModuleManifest));

        Assert.Equal([true, true, true, true, "Cmdlet"], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task ARunspaceThatClosesTakesItsDropInAlong()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $iss = [initialsessionstate]::CreateDefault2()
            $iss.ImportPSModule($manifest)
            $runspace = [runspacefactory]::CreateRunspace($iss)
            $runspace.Open()
            $inner = [powershell]::Create($runspace)
            $definition = $inner.AddScript('Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory); (Get-Command Invoke-WebRequest).Definition').Invoke()[0]
            $id = [regex]::Match($definition, 'HttpCache drop-in ([0-9a-f]{32})').Groups[1].Value
            $null -eq ([HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', @{})).Reason
            $inner.Dispose(); $runspace.Dispose()
            ([HttpCache.DropIn]::Route($id, 'Invoke-WebRequest', @{})).Reason
            """, ("manifest", RepoPaths.ModuleManifest));

        // While the runspace lives its drop-in routes to the cache; once it closed, nothing holds it (or its session).
        Assert.Equal(true, result.BaseOutput[0]);
        Assert.Contains("turned off", (string)result.BaseOutput[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHttpCacheSessionListsTheOpenSessions()
    {
        var name = "dropin-list-" + Guid.NewGuid().ToString("N");
        using var ps = PS.Open();
        var result = await ps.RunAsync("""
            $s = New-HttpCacheSession -Name $n -Backend Memory
            (Get-HttpCacheSession | Where-Object Name -eq $n).Count
            (Get-HttpCacheSession -Name ($n.Substring(0, 12) + '*') | Where-Object Name -eq $n)[0] -eq $s
            $s.Dispose()
            @(Get-HttpCacheSession -Name $n -ErrorAction SilentlyContinue).Count
            Get-HttpCacheSession -Name $n
            """, ("n", name));

        Assert.Equal([1, true, 0], result.BaseOutput);
        Assert.Equal(["SessionNotFound,HttpCache.Commands.GetHttpCacheSessionCommand"], result.ErrorIds);
    }

    [Fact]
    public async Task NameCompletesFromTheOpenSessions()
    {
        var name = "dropin-complete-" + Guid.NewGuid().ToString("N");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Name $n -Backend Memory
            $line = "Get-HttpCacheSession -Name $($n.Substring(0, 20))"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText
            """, ("n", name));

        Assert.Equal([name], result.BaseOutput);
    }

    [Fact]
    public async Task DropInReportsOffWhereNothingIsOn()
    {
        using var ps = PS.Open();
        var dropIn = (await ps.Ok("Get-HttpCacheSession -DropIn")).Output.Single();

        Assert.Equal("HttpCache.DropIn", dropIn.TypeName());
        Assert.False(dropIn.Prop<bool>("Enabled"));
        Assert.Null(dropIn.Properties["SessionName"].Value);
        Assert.Null(dropIn.Properties["Session"].Value);
    }

    [Fact]
    public async Task EnableRefusesADisposedSession()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("$s = New-HttpCacheSession -Backend Memory; $s.Dispose(); Enable-HttpCache -Session $s");

        Assert.Equal("SessionDisposed,HttpCache.Commands.EnableHttpCacheCommand", error.FullyQualifiedErrorId);
        var after = await ps.Ok("(Get-Command Invoke-WebRequest).CommandType.ToString()");
        Assert.Equal(["Cmdlet"], after.BaseOutput);
    }
}
