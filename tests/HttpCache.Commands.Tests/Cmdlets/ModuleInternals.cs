using System.Reflection;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Reaches the pure functions inside the staged HttpCache.Commands.dll (this project does not reference the
/// product, so the module's own resolution is what the other tests see). Only functions that need nothing of
/// the engine are called this way: the assembly loads in the default context, as Import-Module loads it, and
/// the same instance serves the runspaces of this process.
/// </summary>
internal static class ModuleInternals
{
    private static readonly Lazy<Assembly> s_assembly = new(() => Assembly.LoadFrom(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Commands.dll")));

    /// <summary>Calls an internal static method.</summary>
    public static object? Call(string typeName, string method, params object?[] arguments)
    {
        var type = s_assembly.Value.GetType(typeName, throwOnError: true)!;
        var info = type.GetMethod(method, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new MissingMethodException(typeName, method);
        try
        {
            return info.Invoke(null, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }

    /// <summary>A property of an object of an internal type.</summary>
    public static T Get<T>(object instance, string property) =>
        (T)instance.GetType().GetProperty(property, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.GetValue(instance)!;
}
