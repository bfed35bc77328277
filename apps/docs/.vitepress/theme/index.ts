// The default VitePress theme plus the components the pages use to run code on the wasm backend.
import DefaultTheme from 'vitepress/theme';
import type { Theme } from 'vitepress';
import RunExample from './components/RunExample.vue';
import BackendStatus from './components/BackendStatus.vue';
import ConvExplorer from './components/ConvExplorer.vue';
import ActivationPlots from './components/ActivationPlots.vue';
import PoolingView from './components/PoolingView.vue';
import ZooTable from './components/ZooTable.vue';
import TrainLeNet from './components/TrainLeNet.vue';
import LinearClassifierView from './components/LinearClassifierView.vue';
import XorView from './components/XorView.vue';
import ApproximationView from './components/ApproximationView.vue';
import ConvMatrixView from './components/ConvMatrixView.vue';
import ImagePoolingView from './components/ImagePoolingView.vue';
import PretrainedGallery from './components/PretrainedGallery.vue';
import ArchDiagram from './components/ArchDiagram.vue';
import ModelSummary from './components/ModelSummary.vue';
import FamilyModels from './components/FamilyModels.vue';
import './style.css';

const theme: Theme = {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('RunExample', RunExample);
    app.component('BackendStatus', BackendStatus);
    app.component('ConvExplorer', ConvExplorer);
    app.component('ActivationPlots', ActivationPlots);
    app.component('PoolingView', PoolingView);
    app.component('ZooTable', ZooTable);
    app.component('TrainLeNet', TrainLeNet);
    app.component('LinearClassifierView', LinearClassifierView);
    app.component('XorView', XorView);
    app.component('ApproximationView', ApproximationView);
    app.component('ConvMatrixView', ConvMatrixView);
    app.component('ImagePoolingView', ImagePoolingView);
    app.component('PretrainedGallery', PretrainedGallery);
    app.component('ArchDiagram', ArchDiagram);
    app.component('ModelSummary', ModelSummary);
    app.component('FamilyModels', FamilyModels);
  },
};

export default theme;
