using System.Management.Automation;
using System.Text.RegularExpressions;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The cached twins take every parameter of the running PowerShell's Invoke-WebRequest and Invoke-RestMethod,
/// with the same aliases, type, position, mandatory flag, pipeline binding and parameter sets, except for the
/// differences docs/invoke-webrequest-parity.md lists with their reasons. A parameter a later PowerShell adds
/// fails this test until the twins take it too (or the page explains why not).
/// </summary>
public sealed partial class InvokeWebRequestParityTests
{
    [Theory]
    [InlineData("Invoke-WebRequest", "Invoke-CachedWebRequest")]
    [InlineData("Invoke-RestMethod", "Invoke-CachedRestMethod")]
    public async Task TheTwinTakesEveryParameterOfTheBuiltIn(string builtIn, string twin)
    {
        var allowed = AllowedDifferences();
        var (original, cached) = await Commands(builtIn, twin);
        var problems = Differences(original, cached)
            .Where(d => !allowed.Contains((d.Parameter, d.Kind)))
            .Select(d => $"-{d.Parameter} ({d.Kind}): {d.Detail}")
            .ToList();

        Assert.True(problems.Count == 0, $"{twin} differs from {builtIn} where docs/invoke-webrequest-parity.md allows no difference:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Fact]
    public async Task EveryDocumentedDifferenceIsReal()
    {
        // A row for a difference that no longer exists is a stale promise in the docs.
        var found = new HashSet<(string, string)>();
        foreach (var (builtIn, twin) in new[] { ("Invoke-WebRequest", "Invoke-CachedWebRequest"), ("Invoke-RestMethod", "Invoke-CachedRestMethod") })
        {
            var (original, cached) = await Commands(builtIn, twin);
            found.UnionWith(Differences(original, cached).Select(d => (d.Parameter, d.Kind)));
        }

        var stale = AllowedDifferences().Where(a => !found.Contains(a)).Select(a => $"-{a.Parameter} ({a.Kind})").ToList();
        Assert.True(stale.Count == 0, "docs/invoke-webrequest-parity.md allows differences that do not exist: " + string.Join(", ", stale));
    }

    [Fact]
    public async Task TheParityTableIsReadAndTheBuiltInsAreTheRealOnes()
    {
        // Guards the test itself: the table parses, and the runspace has the real web cmdlets (the SDK's).
        Assert.Contains(("Uri", "type"), AllowedDifferences());
        var (original, _) = await Commands("Invoke-WebRequest", "Invoke-CachedWebRequest");
        Assert.Equal("Microsoft.PowerShell.Commands.InvokeWebRequestCommand", original.ImplementingType.FullName);
        Assert.True(original.Parameters.Count > 40);
    }

    private static async Task<(CmdletInfo BuiltIn, CmdletInfo Twin)> Commands(string builtIn, string twin)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("Get-Command $a -CommandType Cmdlet; Get-Command $b -CommandType Cmdlet", ("a", builtIn), ("b", twin));
        return ((CmdletInfo)result.Output[0].BaseObject, (CmdletInfo)result.Output[1].BaseObject);
    }

    private sealed record Difference(string Parameter, string Kind, string Detail);

    private static IEnumerable<Difference> Differences(CmdletInfo builtIn, CmdletInfo twin)
    {
        foreach (var (name, original) in builtIn.Parameters)
        {
            if (Cmdlet.CommonParameters.Contains(name) || Cmdlet.OptionalCommonParameters.Contains(name))
            {
                continue;
            }

            if (!twin.Parameters.TryGetValue(name, out var cached))
            {
                yield return new(name, "missing", "the twin has no such parameter");
                continue;
            }

            var lostAliases = original.Aliases.Except(cached.Aliases, StringComparer.OrdinalIgnoreCase).ToList();
            if (lostAliases.Count > 0)
            {
                yield return new(name, "aliases", "lacks " + string.Join(", ", lostAliases));
            }

            if (original.ParameterType != cached.ParameterType)
            {
                yield return new(name, "type", $"{original.ParameterType} there, {cached.ParameterType} here");
            }

            var inAllSets = original.ParameterSets.ContainsKey(ParameterAttribute.AllParameterSets);
            if (!inAllSets)
            {
                yield return new(name, "parameter sets", "only in " + string.Join(", ", original.ParameterSets.Keys));
                continue;
            }

            var there = original.ParameterSets[ParameterAttribute.AllParameterSets];
            var here = cached.ParameterSets.TryGetValue(ParameterAttribute.AllParameterSets, out var all) ? all : cached.ParameterSets.Values.First();
            if (there.IsMandatory != here.IsMandatory || there.Position != here.Position)
            {
                yield return new(name, "position", $"mandatory {there.IsMandatory} position {there.Position} there, mandatory {here.IsMandatory} position {here.Position} here");
            }

            if (there.ValueFromPipeline != here.ValueFromPipeline || there.ValueFromPipelineByPropertyName != here.ValueFromPipelineByPropertyName)
            {
                yield return new(name, "pipeline", $"by value {there.ValueFromPipeline}, by property name {there.ValueFromPipelineByPropertyName} there; {here.ValueFromPipeline}, {here.ValueFromPipelineByPropertyName} here");
            }
        }
    }

    private static HashSet<(string Parameter, string Kind)> AllowedDifferences()
    {
        var page = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "invoke-webrequest-parity.md"));
        return TableRow().Matches(page).Select(m => (m.Groups["name"].Value, m.Groups["kind"].Value.Trim())).ToHashSet();
    }

    [GeneratedRegex(@"^\| -(?<name>\w+) \| (?<kind>[a-z ]+) \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
