using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>
/// Import-Module calls GetExportedTypes() on HttpCache.Commands.dll before it runs the module's
/// IModuleAssemblyInitializer, that is before the resolver that finds HttpCache.Engine exists. Every
/// public type must therefore load without the engine: no engine base type, interface or attribute,
/// and no field (auto-property backing fields included) of an engine struct or enum, whose layout
/// the runtime needs at type load. Engine *classes* in fields, properties and method signatures are
/// fine: they resolve lazily, after the import. Keep such state in internal types.
/// </summary>
public sealed class CommandsAssemblyShapeTests
{
    [Fact]
    public void EveryPublicTypeLoadsWithoutTheEngine()
    {
        var path = Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Commands.dll");
        var context = new EngineWithheldContext();
        try
        {
            var assembly = context.LoadFromAssemblyPath(path);
            var failures = new List<string>();
            foreach (var name in PublicTypeNames(path))
            {
                try
                {
                    assembly.GetType(name, throwOnError: true);
                }
                catch (Exception ex) when (ex is TypeLoadException or FileNotFoundException or FileLoadException)
                {
                    failures.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
                }
            }

            Assert.True(
                failures.Count == 0,
                "These public types of HttpCache.Commands need HttpCache.Engine to load, so Import-Module fails before the module's resolver is registered:"
                + Environment.NewLine + string.Join(Environment.NewLine, failures)
                + Environment.NewLine + "Move engine structs/enums held in fields into an internal type (or hold them as object).");

            assembly.GetExportedTypes(); // what PowerShell calls
        }
        finally
        {
            context.Unload();
        }
    }

    private static List<string> PublicTypeNames(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in reader.TypeDefinitions)
        {
            if (IsExported(reader, handle))
            {
                names.Add(FullName(reader, handle));
            }
        }

        return names;
    }

    private static bool IsExported(MetadataReader reader, TypeDefinitionHandle handle)
    {
        var type = reader.GetTypeDefinition(handle);
        var visibility = type.Attributes & TypeAttributes.VisibilityMask;
        return visibility switch
        {
            TypeAttributes.Public => true,
            TypeAttributes.NestedPublic => IsExported(reader, type.GetDeclaringType()),
            _ => false,
        };
    }

    private static string FullName(MetadataReader reader, TypeDefinitionHandle handle)
    {
        var type = reader.GetTypeDefinition(handle);
        var name = reader.GetString(type.Name);
        if (type.GetDeclaringType() is { IsNil: false } declaring)
        {
            return FullName(reader, declaring) + "+" + name;
        }

        var ns = reader.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>A context in which HttpCache.Engine cannot be found, as in the default context during Import-Module.</summary>
    private sealed class EngineWithheldContext() : AssemblyLoadContext("HttpCache.Tests.EngineWithheld", isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName assemblyName) =>
            assemblyName.Name == "HttpCache.Engine"
                ? throw new FileNotFoundException("HttpCache.Engine is withheld, as it is while Import-Module analyses the assembly.")
                : null;
    }
}
