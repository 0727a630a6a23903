//! Which answer a SOAP operation gets: device management (`tds`) and media ver10 (`trt`),
//! by namespace and name; anything else is `ter:ActionNotSupported`. Operations that
//! change the camera (`Set*`, `Create*`, `Delete*`, `Add*`, `Remove*`, `SystemReboot`, …)
//! are not implemented; `simulators/README.md` lists them.

use customs_edge_devices::onvif::ns;

use super::messages::{self, Ctx, StreamSetup};
use super::soap::{Fault, SoapRequest};
use super::{device_mgmt, media_config};

/// The body answering `request`.
pub(crate) fn answer(request: &SoapRequest, ctx: Ctx<'_>) -> Result<String, Fault> {
    match request.action_ns.as_str() {
        ns::TDS => device(request, ctx),
        ns::TRT => media(request, ctx),
        _ => Err(Fault::action_not_supported(&request.action, false)),
    }
}

/// Device management.
fn device(request: &SoapRequest, ctx: Ctx<'_>) -> Result<String, Fault> {
    let cfg = ctx.cfg;
    Ok(match request.action.as_str() {
        "GetSystemDateAndTime" => messages::system_date_and_time(ctx.now),
        "GetCapabilities" => return messages::capabilities(ctx, request.param("Category")),
        "GetServices" => {
            let include = matches!(request.param("IncludeCapability"), Some("true" | "1"));
            messages::services(ctx, include)
        }
        "GetServiceCapabilities" => device_mgmt::device_service_capabilities_response(),
        "GetDeviceInformation" => messages::device_information(cfg),
        "GetScopes" => messages::scopes_response(cfg),
        "GetHostname" => device_mgmt::get_hostname(ctx),
        "GetNetworkInterfaces" => device_mgmt::network_interfaces(ctx),
        "GetDNS" => device_mgmt::dns(ctx),
        "GetNTP" => device_mgmt::ntp(),
        "GetNetworkProtocols" => device_mgmt::network_protocols(ctx),
        "GetNetworkDefaultGateway" => device_mgmt::default_gateway(ctx),
        "GetDiscoveryMode" => device_mgmt::discovery_mode(ctx),
        "GetUsers" => device_mgmt::users(ctx),
        "GetWsdlUrl" => device_mgmt::wsdl_url(),
        "GetEndpointReference" => device_mgmt::endpoint_reference(ctx),
        // Media operations sent to the device service, as many cameras accept.
        _ => return media(request, ctx),
    })
}

/// Media ver10.
fn media(request: &SoapRequest, ctx: Ctx<'_>) -> Result<String, Fault> {
    let cfg = ctx.cfg;
    let profile = request.param("ProfileToken");
    let configuration = request.param("ConfigurationToken");
    let op = request.action.as_str();
    Ok(match op {
        "GetServiceCapabilities" if request.action_ns == ns::TRT => {
            media_config::media_service_capabilities_response(ctx)
        }
        "GetProfiles" => messages::profiles(ctx),
        "GetProfile" => return messages::profile_response(ctx, profile.unwrap_or_default()),
        "GetVideoSources" => messages::video_sources(cfg),
        "GetSnapshotUri" => return messages::snapshot_uri(ctx, profile),
        "GetStreamUri" => {
            let setup = StreamSetup {
                stream: request.param("Stream"),
                protocol: request.param("Protocol"),
            };
            return messages::stream_uri(ctx, profile, setup);
        }
        "GetVideoSourceConfigurations" => media_config::video_source_configurations(ctx, op),
        "GetCompatibleVideoSourceConfigurations" => {
            messages::profile_response(ctx, profile.unwrap_or_default())?;
            media_config::video_source_configurations(ctx, op)
        }
        "GetVideoSourceConfiguration" => {
            return media_config::video_source_configuration_response(
                ctx,
                configuration.unwrap_or_default(),
            );
        }
        "GetVideoSourceConfigurationOptions" => media_config::video_source_options(ctx),
        "GetVideoEncoderConfigurations" => media_config::video_encoder_configurations(ctx, op),
        "GetCompatibleVideoEncoderConfigurations" => {
            messages::profile_response(ctx, profile.unwrap_or_default())?;
            media_config::video_encoder_configurations(ctx, op)
        }
        "GetVideoEncoderConfiguration" => {
            return media_config::video_encoder_configuration_response(
                ctx,
                configuration.unwrap_or_default(),
            );
        }
        "GetVideoEncoderConfigurationOptions" => {
            media_config::named_encoder(ctx, configuration, profile)?;
            media_config::video_encoder_options(ctx)
        }
        "GetGuaranteedNumberOfVideoEncoderInstances" => {
            media_config::named_encoder(ctx, configuration, None)?;
            media_config::guaranteed_encoders(ctx)
        }
        "GetAudioSources"
        | "GetAudioSourceConfigurations"
        | "GetAudioEncoderConfigurations"
        | "GetAudioOutputs"
        | "GetAudioOutputConfigurations"
        | "GetAudioDecoderConfigurations" => media_config::empty_list(op),
        other => return Err(Fault::action_not_supported(other, false)),
    })
}
