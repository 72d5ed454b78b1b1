using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;
using System.Text.RegularExpressions;

namespace HttpCache.Commands;

/// <summary>
/// Defines, finds and removes the drop-in functions (<see cref="DropIn"/>) in one scope of the caller.
/// </summary>
/// <remarks>
/// A binary cmdlet has no scope of its own: its SessionState's current scope is its caller's. So the provider
/// paths <c>function:local:Name</c> and <c>function:global:Name</c> tell exactly whether this scope or the global
/// one defines a function, and script dot-sourced through <c>InvokeCommand.InvokeScript(false, ...)</c> runs in
/// the caller's scope. Removing is the odd one out: removing <c>function:Name</c> takes the nearest definition,
/// which for the global scope may be a local one in between. A dynamic module linked to the global scope sees
/// only its own scope and the global one, so reads, writes and removals of global functions run inside one.
/// </remarks>
internal sealed partial class DropInFunctions
{
    /// <summary>The built-in commands a drop-in replaces, and their cached twins.</summary>
    public static readonly (string Name, string Twin)[] Replaced =
    [
        ("Invoke-WebRequest", "Invoke-CachedWebRequest"),
        ("Invoke-RestMethod", "Invoke-CachedRestMethod"),
    ];

    private const string UtilityModule = "Microsoft.PowerShell.Utility";
    private const string Marker = "# HttpCache drop-in ";

    /// <summary>
    /// For the provider commands that change the function drive: they would echo the whole function text as a
    /// ShouldProcess message under the caller's -Verbose, and do nothing under its -WhatIf.
    /// </summary>
    private const string Quiet = "-Force -Verbose:$false -WhatIf:$false -Confirm:$false";

    private readonly PSCmdlet cmdlet;
    private readonly bool global;

    public DropInFunctions(PSCmdlet cmdlet, bool global)
    {
        this.cmdlet = cmdlet;
        this.global = global;
    }

    /// <summary>Makes a drop-in for the current runspace: the twins and the built-ins as this runspace knows them.</summary>
    public static DropIn Create(PSCmdlet cmdlet, CacheSession? session, string scope)
    {
        var commands = new List<DropInCommand>();
        foreach (var (name, twin) in Replaced)
        {
            var twinInfo = Lookup(cmdlet, "HttpCache\\" + twin)
                ?? throw new InvalidOperationException($"HttpCache\\{twin} is not available in this runspace.");
            commands.Add(new DropInCommand(name, twinInfo, Lookup(cmdlet, UtilityModule + "\\" + name)));
        }

        return new DropIn(session, scope, commands, Runspace.DefaultRunspace);
    }

    /// <summary>The drop-in whose functions are defined in this very scope (not one inherited from a parent), or null.</summary>
    public DropIn? Current()
    {
        foreach (var (name, _) in Replaced)
        {
            if (Get(name) is { } body && IdOf(body) is { } id && DropIn.Find(id) is { } dropIn)
            {
                return dropIn;
            }
        }

        return null;
    }

    /// <summary>The drop-in a plain Invoke-WebRequest or Invoke-RestMethod call reaches from the caller, or null.</summary>
    public static DropIn? Visible(PSCmdlet cmdlet)
    {
        foreach (var (name, _) in Replaced)
        {
            if (cmdlet.InvokeCommand.GetCommand(name, CommandTypes.Function) is FunctionInfo function
                && IdOf(function.ScriptBlock) is { } id
                && DropIn.Find(id) is { } dropIn)
            {
                return dropIn;
            }
        }

        return null;
    }

    /// <summary>The body of the function defined in this scope under <paramref name="name"/>, or null.</summary>
    public ScriptBlock? Get(string name)
    {
        var items = cmdlet.SessionState.InvokeProvider.Item;
        if (!items.Exists(Qualified(name)))
        {
            return null;
        }

        if (!global)
        {
            // Defined in this scope, so it is the nearest.
            return items.Get("function:" + name).Select(o => o.BaseObject).OfType<FunctionInfo>().FirstOrDefault()?.ScriptBlock;
        }

        return InGlobalModule("param($n) $ExecutionContext.SessionState.InvokeProvider.Item.Get(\"function:$n\")", name)
            .Select(o => o.BaseObject).OfType<FunctionInfo>().FirstOrDefault()?.ScriptBlock;
    }

    /// <summary>Defines (or replaces) the function in this scope.</summary>
    public void Set(string name, ScriptBlock body)
    {
        if (global)
        {
            // An unbound script block: the function runs in its caller's session state, not the helper module's.
            InGlobalModule("param($n, $b) Microsoft.PowerShell.Management\\Set-Item -LiteralPath \"function:global:$n\" -Value $b " + Quiet, name, body);
        }
        else
        {
            DotSource($"function local:{name} {{\n{body}\n}}");
        }
    }

    /// <summary>Removes the function defined in this scope, if any; never one of another scope.</summary>
    public void Remove(string name)
    {
        var items = cmdlet.SessionState.InvokeProvider.Item;
        if (!items.Exists(Qualified(name)))
        {
            return;
        }

        // Defined in this scope, so the nearest from here: from the helper module, the nearest is the global one.
        const string remove = "Microsoft.PowerShell.Management\\Remove-Item -LiteralPath \"function:{0}\" " + Quiet;
        if (global)
        {
            InGlobalModule("param($n) " + string.Format(CultureInfo.InvariantCulture, remove, "$n"), name);
        }
        else
        {
            DotSource(string.Format(CultureInfo.InvariantCulture, remove, name));
        }
    }

    /// <summary>Defines the drop-in's functions in this scope.</summary>
    public void Install(DropIn dropIn)
    {
        foreach (var route in dropIn.Routes)
        {
            Set(route.Name, ScriptBlock.Create(FunctionText(dropIn, route)));
        }
    }

    /// <summary>True when <paramref name="body"/> is a drop-in function's.</summary>
    public static bool IsDropIn(ScriptBlock? body) => body is not null && IdOf(body) is not null;

    private static string? IdOf(ScriptBlock body)
    {
        var match = MarkerPattern().Match(body.ToString());
        return match.Success ? match.Groups[1].Value : null;
    }

    private string Qualified(string name) => (global ? "function:global:" : "function:local:") + name;

    /// <summary>Runs <paramref name="script"/> in the caller's own scope (a binary cmdlet has none of its own).</summary>
    private void DotSource(string script) => cmdlet.SessionState.InvokeCommand.InvokeScript(false, ScriptBlock.Create(script), null);

    private static System.Collections.ObjectModel.Collection<PSObject> InGlobalModule(string script, params object[] arguments) =>
        new PSModuleInfo(true).Invoke(ScriptBlock.Create(script), arguments) switch
        {
            System.Collections.ObjectModel.Collection<PSObject> collection => collection,
            PSObject single => [single],
            null => [],
            var other => [PSObject.AsPSObject(other)],
        };

    private static CommandInfo? Lookup(PSCmdlet cmdlet, string qualifiedName)
    {
        try
        {
            return cmdlet.InvokeCommand.GetCommand(qualifiedName, CommandTypes.Cmdlet);
        }
        catch (Exception ex) when (ex is CommandNotFoundException or RuntimeException)
        {
            return null;
        }
    }

    /// <summary>
    /// A proxy function with the built-in cmdlet's own parameters (names, aliases, types, sets, pipeline), so a
    /// script binds exactly as before; only where the call goes changes. Without the built-in (a host without
    /// Microsoft.PowerShell.Utility) it takes the twin's parameters.
    /// </summary>
    private static string FunctionText(DropIn dropIn, DropInCommand route)
    {
        var metadata = new CommandMetadata(route.Original ?? route.Twin);
        var text = new StringBuilder();
        text.Append(Marker).Append(dropIn.Id).Append(": ").Append(route.Name)
            .AppendLine(" through the cache (Enable-HttpCache or Use-HttpCache); Disable-HttpCache restores the built-in.");
        text.AppendLine(ProxyCommand.GetCmdletBindingAttribute(metadata));
        text.Append("param(").Append(ProxyCommand.GetParamBlock(metadata)).AppendLine(")");
        text.Append($$"""
            begin {
                $__HttpCacheRoute = [HttpCache.DropIn]::Route('{{dropIn.Id}}', '{{route.Name}}', $PSBoundParameters)
                if ($__HttpCacheRoute.Reason) { Write-Verbose $__HttpCacheRoute.Reason }
                $__HttpCacheCommand = $__HttpCacheRoute.Command
                if ($null -eq $__HttpCacheCommand) { $__HttpCacheCommand = '{{UtilityModule}}\{{route.Name}}' }
                $__HttpCacheParameters = $__HttpCacheRoute.Parameters
                # The variables the cmdlet sets (-StatusCodeVariable...) land in this function's scope: hand them up.
                $__HttpCacheHandUp = {
                    foreach ($__HttpCacheName in $__HttpCacheRoute.Variables) {
                        if ($__HttpCacheName -notmatch ':' -and ($__HttpCacheValue = Microsoft.PowerShell.Utility\Get-Variable -Name $__HttpCacheName -Scope 0 -ErrorAction Ignore)) {
                            Microsoft.PowerShell.Utility\Set-Variable -Name $__HttpCacheName -Value $__HttpCacheValue.Value -Scope 1
                        }
                    }
                }
                $__HttpCachePipeline = { & $__HttpCacheCommand @__HttpCacheParameters }.GetSteppablePipeline($MyInvocation.CommandOrigin)
                try { $__HttpCachePipeline.Begin($PSCmdlet) } finally { . $__HttpCacheHandUp }
            }
            process {
                try { $__HttpCachePipeline.Process($_) } finally { . $__HttpCacheHandUp }
            }
            end {
                try { $__HttpCachePipeline.End() } finally { . $__HttpCacheHandUp }
            }

            """);
        return text.ToString();
    }

    [GeneratedRegex(@"^\s*# HttpCache drop-in ([0-9a-f]{32}):", RegexOptions.CultureInvariant)]
    private static partial Regex MarkerPattern();
}
