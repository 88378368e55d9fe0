import { render } from "preact";
import "./style.css";
render(<p>Flightdeck</p>, document.getElementById("app")!);
