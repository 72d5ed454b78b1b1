using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Completion on every parameter of every cmdlet: never the current folder's file names where a value or a
/// name is expected (only -Path and -OutFile take paths), -Session offers the variables holding sessions, -Key
/// the session's keys, and -Uri works against the default session when -Session is absent.
/// </summary>
public sealed class CompletionCoverageTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private static readonly string[] PathParameters = ["Path", "OutFile", "InFile"];

    [Fact]
    public async Task NoParameterButThePathsOffersFileNames()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("a-file.txt"), "x");
        File.WriteAllText(temp.File("another.txt"), "x");
        using var ps = PS.Open();
        var result = await ps.Ok(PS.SetLocation + """

            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            foreach ($c in Get-Command -Module HttpCache) {
                foreach ($p in $c.Parameters.Values) {
                    if ($p.Name -in $common -or $p.SwitchParameter) { continue }
                    $line = "$($c.Name) -$($p.Name) "
                    $files = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Where-Object ResultType -eq 'ProviderItem').Count
                    "$($c.Name) -$($p.Name)=$files"
                }
            }
            """, ("d", temp.Path));

        var lines = result.BaseOutput.Select(o => o.ToString()!).ToArray();
        Assert.True(lines.Length > 40, string.Join(Environment.NewLine, lines));
        var offeringFiles = lines.Where(l => !l.EndsWith("=0", StringComparison.Ordinal)).Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).ToArray();
        Assert.All(offeringFiles, l => Assert.Contains(l[(l.IndexOf(" -", StringComparison.Ordinal) + 2)..], PathParameters));
        Assert.Contains("New-HttpCacheSession -Path", offeringFiles); // the check itself sees file names where they belong
    }

    [Fact]
    public async Task SessionOffersTheVariablesHoldingSessions()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $global:apiCache = New-HttpCacheSession -Backend Memory
            $global:notACache = 'text'
            $line = 'Get-HttpCacheStats -Session '
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText
            """);

        Assert.Contains("$apiCache", result.BaseOutput.Select(o => o.ToString()));
        Assert.DoesNotContain("$notACache", result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task KeyOffersTheSessionsKeys()
    {
        var urls = Urls(2, "keys");
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            $keys = @(Get-HttpCacheEntry -Session $s | ForEach-Object Key | Sort-Object)
            $line = 'Remove-HttpCacheEntry -Session $s -Key '
            $offered = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object ListItemText | Sort-Object)
            ($keys -join '|') -eq ($offered -join '|'); $offered.Count
            """);

        Assert.Equal([true, 2], result.BaseOutput);
    }

    [Fact]
    public async Task UriCompletesFromTheDefaultSessionsFileWithoutSession()
    {
        var urls = Urls(2, "default-complete");
        using var temp = new TempDirectory();
        var environment = new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") };
        (await PwshProcess.RunCommandAsync(
            "Import-Module $env:HTTPCACHE_MODULE_MANIFEST; " + string.Join("; ", urls.Select(u => $"$null = Invoke-CachedWebRequest '{u}'")),
            environment: environment)).AssertSuccess();

        // A new process: its default session is not open yet, but its file is there.
        var run = (await PwshProcess.RunCommandAsync(
            """
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $line = 'Get-HttpCacheEntry -Uri '
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object { "OFFER=$($_.ListItemText)" }
            """,
            environment: environment)).AssertSuccess();

        Assert.Equal(urls.Order(StringComparer.OrdinalIgnoreCase), run.OutputLines.Where(l => l.StartsWith("OFFER=", StringComparison.Ordinal)).Select(l => l[6..]));
    }
}
