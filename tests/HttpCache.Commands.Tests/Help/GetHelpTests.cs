using System.Management.Automation;
using System.Text.RegularExpressions;
using HttpCache.Commands.Tests.Cmdlets;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Help;

/// <summary>
/// What Get-Help shows from the staged module: the MAML the build generates from docs/*.md
/// (build/HelpGenerator) and about_HttpCache. Every exported cmdlet has a synopsis, a description, every
/// parameter described, and at least three examples.
/// </summary>
public sealed partial class GetHelpTests
{
    private static readonly string[] CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm",
    ];

    /// <summary>Every cmdlet the staged manifest exports (read from the file, so a new cmdlet is covered at once).</summary>
    public static TheoryData<string> ExportedCmdlets()
    {
        var manifest = File.ReadAllText(RepoPaths.ModuleManifest);
        var list = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)", RegexOptions.Singleline).Groups["list"].Value;
        var data = new TheoryData<string>();
        foreach (Match name in Regex.Matches(list, "'([^']+)'"))
        {
            data.Add(name.Groups[1].Value);
        }

        return data;
    }

    [Fact]
    public void TheHelpFilesAreStaged()
    {
        foreach (var file in new[] { "en-US/HttpCache.Commands.dll-Help.xml", "en-US/about_HttpCache.help.txt" })
        {
            var path = Path.Combine(RepoPaths.ModuleDirectory, file);
            Assert.True(File.Exists(path), $"module/{file} is missing");
            Assert.True(new FileInfo(path).Length > 1000, $"module/{file} is nearly empty");
        }

        Assert.True(((IEnumerable<object[]>)ExportedCmdlets()).Count() >= 7);
    }

    [Theory]
    [MemberData(nameof(ExportedCmdlets))]
    public async Task FullHelpHasSynopsisDescriptionEveryParameterAndThreeExamples(string command)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $help = Get-Help $c -Full
            $help.PSObject.TypeNames -join ','
            $help.Synopsis
            @($help.description | ForEach-Object Text) -join ' '
            @($help.examples.example).Count
            @($help.syntax.syntaxItem).Count
            @((Get-Command $c).ParameterSets).Count
            """, ("c", command));

        // Help read from the MAML file, not the syntax-only help PowerShell makes up when there is none.
        Assert.Contains("MamlCommandHelpInfo", (string)result.BaseOutput[0], StringComparison.Ordinal);
        var synopsis = (string)result.BaseOutput[1];
        Assert.Equal(DocsSynopsis(command), synopsis);
        Assert.True(((string)result.BaseOutput[2]).Length > 100, $"{command}: the description is short or missing");
        Assert.True((int)result.BaseOutput[3] >= 3, $"{command}: {result.BaseOutput[3]} examples");
        Assert.Equal(result.BaseOutput[5], result.BaseOutput[4]);

        var parameters = (await ps.Ok("(Get-Command $c).Parameters.Keys", ("c", command))).BaseOutput.Select(o => o.ToString()!).Except(CommonParameters).ToArray();
        var described = await ps.Ok("""
            (Get-Help $c -Full).parameters.parameter | ForEach-Object { "$($_.name)=$(@($_.description | ForEach-Object Text) -join ' ')" }
            """, ("c", command));
        var help = described.BaseOutput.Select(o => o.ToString()!.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        foreach (var parameter in parameters)
        {
            Assert.True(help.TryGetValue(parameter, out var text), $"{command}: Get-Help shows no -{parameter}");
            Assert.False(string.IsNullOrWhiteSpace(text), $"{command}: -{parameter} has no description");
        }
    }

    [Theory]
    [MemberData(nameof(ExportedCmdlets))]
    public async Task ExamplesHaveCodeAndTitles(string command)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Help $c -Examples).examples.example | ForEach-Object { \"$($_.title)|$($_.code)\" }", ("c", command));

        // Every cmdlet has examples: an empty list would pass the checks below without checking anything.
        Assert.NotEmpty(result.BaseOutput);
        Assert.All(result.BaseOutput.Select(o => o.ToString()!), example =>
        {
            var parts = example.Split('|', 2);
            Assert.Matches(@"Example \d+", parts[0]);
            Assert.Contains(command, parts[1], StringComparison.OrdinalIgnoreCase);
        });
    }

    [Fact]
    public async Task ParameterDetailsComeFromTheDocsYaml()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $p = Get-Help Remove-HttpCacheEntry -Parameter Uri
            $p.required; $p.position; $p.pipelineInput; $p.globbing
            (Get-Help Remove-HttpCacheEntry -Parameter Key).aliases
            """);

        Assert.Equal(["false", "0", "True (ByPropertyName, ByValue)", "true", "CacheKey"], result.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task AboutTopicIsFound()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("Get-Help about_HttpCache");

        var text = string.Join("\n", result.BaseOutput.Select(o => o.ToString()));
        Assert.Contains("about_HttpCache", text, StringComparison.Ordinal);
        Assert.Contains("SHORT DESCRIPTION", text, StringComparison.Ordinal);
        Assert.Contains("Invoke-CachedRestMethod", text, StringComparison.Ordinal);
        Assert.Contains("-ThrottleLimit", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullHelpRendersInAFreshProcess()
    {
        using var temp = new TempDirectory();
        var run = (await PwshProcess.RunCommandAsync(
            "Import-Module $env:HTTPCACHE_MODULE_MANIFEST; Get-Help Invoke-CachedRestMethod -Full | Out-Default; Get-Help about_HttpCache | Out-Default",
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();

        foreach (var heading in new[] { "NAME", "SYNOPSIS", "SYNTAX", "DESCRIPTION", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" })
        {
            Assert.Contains(heading, run.OutputLines.Select(l => l.Trim()));
        }

        Assert.Contains(run.OutputLines, l => l.Contains("-ThrottleLimit <Int32>", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.Contains("Example 1: A JSON API, cached for ten minutes", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.Trim() == "about_HttpCache");
    }

    /// <summary>The SYNOPSIS paragraph of docs/&lt;command&gt;.md.</summary>
    private static string DocsSynopsis(string command)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", command + ".md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var match = Regex.Match(text, @"\n## SYNOPSIS\n(?<s>.*?)\n\n", RegexOptions.Singleline);
        return string.Join(" ", match.Groups["s"].Value.Split('\n').Select(l => l.Trim())).Replace("`", string.Empty, StringComparison.Ordinal);
    }
}
